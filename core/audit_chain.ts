// The audit log's hash chain. Each row is hashed over its canonical content, which includes its
// place in the log (`seq`) and the hash of the row before it, so editing, deleting or reordering
// a row breaks every link after it. Signed checkpoints pin the head of the chain from time to
// time, so cutting rows off the end is caught as well. Hashing and signing happen in the shell
// (WebCrypto); this module says what is hashed and signed and what a broken link looks like.
// docs/audit-verification.md describes the same rules for checking an export offline.

/** The `prev_hash` of the first row: 64 zeros. */
export const GENESIS_HASH = "0".repeat(64);

/** Tag of the canonical row form; a new form gets a new tag. */
export const AUDIT_ROW_FORMAT = "assent-audit-row-v1";

/** Tag of the row form that also names the API token the actor acted through. */
export const AUDIT_ROW_FORMAT_V2 = "assent-audit-row-v2";

/** Tag of the canonical checkpoint form. */
export const AUDIT_CHECKPOINT_FORMAT = "assent-audit-checkpoint-v1";

/** The stored fields of one audit row that its hash covers. */
export interface ChainedContent {
  seq: number;
  at: number;
  action: string;
  outcome: string | null;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  device_id: string | null;
  session_id: string | null;
  attempt_id: string | null;
  department_id: string | null;
  /** The detail exactly as stored (JSON text), or null. */
  detail: string | null;
  prev_hash: string;
  /** The API token the actor acted through and its name; absent or null on other rows. */
  api_token_id?: string | null;
  api_token_name?: string | null;
}

/** One stored row as the chain sees it: its content and the hash stored with it. */
export interface ChainedRow extends ChainedContent {
  hash: string;
}

/**
 * The text whose SHA-256 (lowercase hex) is a row's hash: a JSON array of the format tag and
 * every covered field in a fixed order. JSON of strings, integers and nulls has one spelling.
 * A row written through an API token takes the v2 form, which adds the token's id and name at
 * the end; every other row keeps the v1 form, so rows written before tokens were recorded keep
 * their hashes, and clearing or adding a token on a stored row changes its form and breaks it.
 */
export function canonicalAuditRow(row: ChainedContent): string {
  const token = row.api_token_id ?? null;
  const tokenName = row.api_token_name ?? null;
  const v1 = [
    row.seq,
    row.at,
    row.action,
    row.outcome,
    row.actor_kind,
    row.actor_id,
    row.actor_label,
    row.device_id,
    row.session_id,
    row.attempt_id,
    row.department_id,
    row.detail,
    row.prev_hash,
  ];
  return token === null && tokenName === null
    ? JSON.stringify([AUDIT_ROW_FORMAT, ...v1])
    : JSON.stringify([AUDIT_ROW_FORMAT_V2, ...v1, token, tokenName]);
}

/** A checkpoint: the head of the chain at a moment, signed with the instance's audit key. */
export interface Checkpoint {
  /** The last row the checkpoint covers. */
  seq: number;
  /** That row's hash. */
  hash: string;
  /** When the checkpoint was made. */
  at: number;
}

/** The text an Ed25519 checkpoint signature covers. */
export function canonicalCheckpoint(checkpoint: Checkpoint): string {
  return JSON.stringify([AUDIT_CHECKPOINT_FORMAT, checkpoint.seq, checkpoint.hash, checkpoint.at]);
}

/** Where a walk of the chain stands: the row it expects next and the hash that row must name. */
export interface ChainCursor {
  nextSeq: number;
  prevHash: string;
}

/** The cursor before the first row. */
export const CHAIN_START: ChainCursor = Object.freeze({ nextSeq: 1, prevHash: GENESIS_HASH });

/** The first broken link found, in words an auditor can act on. */
export interface ChainBreak {
  /** The row where the chain breaks (for truncation, the first missing row). */
  seq: number;
  /** The time of the row where it breaks, when there is such a row. */
  at: number | null;
  kind: "missing" | "out_of_order" | "unlinked" | "edited" | "truncated" | "bad_checkpoint";
  /** What differs, as a sentence. */
  message: string;
}

/**
 * Checks one row against the cursor and the hash its content computes to. Returns the next
 * cursor, or the break when the row is not the one that must follow.
 */
export function checkLink(
  cursor: ChainCursor,
  row: ChainedRow,
  computedHash: string,
): { ok: true; cursor: ChainCursor } | { ok: false; problem: ChainBreak } {
  if (row.seq > cursor.nextSeq) {
    const missing = row.seq - cursor.nextSeq;
    return broken(
      cursor.nextSeq,
      row.at,
      "missing",
      missing === 1
        ? `Row ${cursor.nextSeq} is missing: the log goes from row ${
          cursor.nextSeq - 1
        } to row ${row.seq}.`
        : `Rows ${cursor.nextSeq} to ${row.seq - 1} are missing: the log goes from row ${
          cursor.nextSeq - 1
        } to row ${row.seq}.`,
    );
  }
  if (row.seq < cursor.nextSeq) {
    return broken(
      row.seq,
      row.at,
      "out_of_order",
      `Row ${row.seq} appears again after row ${cursor.nextSeq - 1}.`,
    );
  }
  if (computedHash !== row.hash) {
    return broken(
      row.seq,
      row.at,
      "edited",
      `Row ${row.seq} was changed after it was written: its content no longer matches its hash.`,
    );
  }
  if (row.prev_hash !== cursor.prevHash) {
    return broken(
      row.seq,
      row.at,
      "unlinked",
      row.seq === 1
        ? "Row 1 does not start the chain: it names a previous row that is not there."
        : `Row ${row.seq} does not follow row ${row.seq - 1}: it names a previous hash that row ${
          row.seq - 1
        } does not have (rows removed, reordered or rewritten).`,
    );
  }
  return { ok: true, cursor: { nextSeq: row.seq + 1, prevHash: row.hash } };
}

/**
 * Checks a checkpoint whose signature is `signatureValid` against the row it covers (`row` is
 * that row, or undefined when the log has no such row). `lastSeq` is the log's last row.
 */
export function checkCheckpoint(
  checkpoint: Checkpoint,
  signatureValid: boolean,
  row: ChainedRow | undefined,
  lastSeq: number,
): ChainBreak | null {
  if (!signatureValid) {
    return {
      seq: checkpoint.seq,
      at: checkpoint.at,
      kind: "bad_checkpoint",
      message:
        `The checkpoint of row ${checkpoint.seq} is not signed by this instance's audit key.`,
    };
  }
  if (row === undefined) {
    return {
      seq: lastSeq + 1,
      at: checkpoint.at,
      kind: "truncated",
      message:
        `The log ends at row ${lastSeq} but a signed checkpoint covers row ${checkpoint.seq}: rows ${
          lastSeq + 1
        } to ${checkpoint.seq} were removed.`,
    };
  }
  if (row.hash !== checkpoint.hash) {
    return {
      seq: row.seq,
      at: row.at,
      kind: "edited",
      message:
        `Row ${row.seq} is not the row the signed checkpoint covers: the chain was rewritten from there or before.`,
    };
  }
  return null;
}

function broken(
  seq: number,
  at: number | null,
  kind: ChainBreak["kind"],
  message: string,
): { ok: false; problem: ChainBreak } {
  return { ok: false, problem: { seq, at, kind, message } };
}

/** When to sign the next checkpoint: after `rows` new rows or `everyMs`, whichever is first. */
export interface CheckpointPolicy {
  everyRows: number;
  everyMs: number;
}

/** The default: every 1000 rows or ten minutes. */
export const CHECKPOINT_POLICY: CheckpointPolicy = Object.freeze({
  everyRows: 1000,
  everyMs: 10 * 60_000,
});

/**
 * Whether a checkpoint is due: there are rows after the last one, and either enough of them or
 * enough time has passed since it (or since the first unsigned row, when there is none yet).
 */
export function checkpointDue(
  policy: CheckpointPolicy,
  last: { seq: number; at: number } | null,
  head: { seq: number; firstUnsignedAt: number } | null,
  now: number,
): boolean {
  if (head === null || head.seq <= (last?.seq ?? 0)) return false;
  if (head.seq - (last?.seq ?? 0) >= policy.everyRows) return true;
  return now - (last?.at ?? head.firstUnsignedAt) >= policy.everyMs;
}
