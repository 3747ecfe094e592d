/**
 * Keeping the audit chain honest: signs a checkpoint of its head every so often (on the
 * scheduler, by the injected clock), walks the whole chain to say whether it is intact, and
 * exports it as a signed bundle that verifies offline (docs/audit-verification.md).
 */
import {
  canonicalAuditRow,
  canonicalCheckpoint,
  CHAIN_START,
  type ChainBreak,
  type ChainCursor,
  checkCheckpoint,
  checkLink,
  CHECKPOINT_POLICY,
  checkpointDue,
  type CheckpointPolicy,
} from "../core/audit_chain.ts";
import { type AuditKey, verifyAuditSignature } from "../lib/audit_key.ts";
import { sha256Hex } from "../lib/sha256.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import {
  chainHead,
  chainRows,
  firstRowAfter,
  insertCheckpoint,
  lastCheckpoint,
  listCheckpoints,
  type StoredCheckpoint,
  unchainedRows,
} from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import type { DeadlineSource } from "../lib/scheduler.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** What a walk of the chain found. */
export type ChainReport =
  | { intact: true; rows: number; lastCheckpointAt: number | null; checkedAt: number }
  | { intact: false; rows: number; problem: ChainBreak; checkedAt: number };

/** How often the scheduler looks whether a checkpoint is due. */
const TICK_MS = 60_000;
/** Rows read and hashed per batch; the connection is free between batches. */
const BATCH = 1000;

/** The one-line verdict `assent admin audit verify` prints and the audit page shows. */
export function describeReport(report: ChainReport): string {
  if (report.intact) {
    const last = report.lastCheckpointAt === null
      ? "no checkpoint yet"
      : `last checkpoint ${new Date(report.lastCheckpointAt).toISOString()}`;
    return `intact, ${report.rows} rows, ${last}`;
  }
  const p = report.problem;
  const when = p.at === null ? "" : ` (${new Date(p.at).toISOString()})`;
  return `broken at row ${p.seq}${when}: ${p.message}`;
}

/** One line of the signed export bundle. */
export type BundleLine = Record<string, unknown> & { type: string };

/** The audit chain's checkpoints, verification and signed export. */
export class AuditChain implements DeadlineSource {
  readonly name = "audit-checkpoints";
  #nextTick: number | null = null;
  #last: ChainReport | null = null;
  #walking: Promise<ChainReport> | null = null;

  constructor(
    private deps: {
      db: Db;
      /** Where the chain's own records (an export) are written, as every use case's are. */
      work: UnitOfWork;
      clock: Clock;
      log: Logger;
      key: AuditKey;
      policy?: CheckpointPolicy;
    },
  ) {}

  /** The public half of the audit key, as Admin shows it. */
  get publicKey(): { raw: string; pem: string } {
    return { raw: this.deps.key.publicKey, pem: this.deps.key.publicKeyPem };
  }

  /** The result of the last walk, or null before the first. */
  get status(): ChainReport | null {
    return this.#last;
  }

  #ran = false;

  next(): Promise<number | null> {
    this.#nextTick ??= this.deps.clock.now() + TICK_MS;
    return Promise.resolve(this.#nextTick);
  }

  async runDue(now: number): Promise<void> {
    if (this.#nextTick !== null && now < this.#nextTick) return;
    this.#nextTick = now + TICK_MS;
    const boot = !this.#ran;
    this.#ran = true;
    // The walk reads every row (seconds at 100k rows), and the scheduler's first run comes
    // before the server listens: at boot the first view of the chain's state walks it instead.
    if (await this.checkpointIfDue(now) && !boot) await this.verify();
  }

  /** Signs a checkpoint of the head when the policy says one is due; true when it did. */
  async checkpointIfDue(now = this.deps.clock.now()): Promise<boolean> {
    const { db } = this.deps;
    const [last, head] = await Promise.all([lastCheckpoint(db), chainHead(db)]);
    const firstUnsignedAt = head ? await firstRowAfter(db, last?.seq ?? 0) : null;
    const due = checkpointDue(
      this.deps.policy ?? CHECKPOINT_POLICY,
      last,
      head && firstUnsignedAt !== null ? { seq: head.seq, firstUnsignedAt } : null,
      now,
    );
    if (!due || !head) return false;
    await this.checkpoint(now);
    return true;
  }

  /** Signs a checkpoint of the chain's current head (none when the log is empty). */
  async checkpoint(now = this.deps.clock.now()): Promise<StoredCheckpoint | null> {
    const head = await chainHead(this.deps.db);
    if (!head) return null;
    const checkpoint = { seq: head.seq, hash: head.hash, at: now };
    const stored = {
      ...checkpoint,
      signature: await this.deps.key.sign(canonicalCheckpoint(checkpoint)),
      public_key: this.deps.key.publicKey,
    };
    await insertCheckpoint(this.deps.db, stored);
    // The log is a second witness: a checkpoint shipped off the machine survives a rewrite here.
    this.deps.log.info("audit checkpoint", {
      seq: stored.seq,
      hash: stored.hash,
      signature: stored.signature,
    });
    return stored;
  }

  /**
   * The last walk's result when it is younger than `maxAgeMs`, else a new walk (one at a time:
   * callers arriving during a walk share it).
   */
  async recentStatus(maxAgeMs = CHECKPOINT_POLICY.everyMs): Promise<ChainReport> {
    const last = this.#last;
    if (last && this.deps.clock.now() - last.checkedAt < maxAgeMs) return last;
    return await this.verify();
  }

  /**
   * Walks every row from the first, checking each link and each checkpoint, and reports the
   * first break in chain order, or that the chain is intact.
   */
  verify(): Promise<ChainReport> {
    this.#walking ??= this.#walk().finally(() => this.#walking = null);
    return this.#walking;
  }

  async #walk(): Promise<ChainReport> {
    const { db, clock } = this.deps;
    const checkpoints = await listCheckpoints(db);
    let cp = 0;
    let cursor: ChainCursor = CHAIN_START;
    let rows = 0;
    const done = (report: ChainReport) => this.#last = report;
    const broken = (problem: ChainBreak) =>
      done({ intact: false, rows, problem, checkedAt: clock.now() });
    while (true) {
      const batch = await chainRows(db, cursor.nextSeq - 1, BATCH);
      for (const row of batch) {
        const result = checkLink(cursor, row, sha256Hex(canonicalAuditRow(row)));
        if (!result.ok) return broken(result.problem);
        cursor = result.cursor;
        rows += 1;
        while (cp < checkpoints.length && checkpoints[cp]!.seq <= row.seq) {
          const c = checkpoints[cp++]!;
          const valid = await this.#signedHere(c);
          const problem = checkCheckpoint(c, valid, c.seq === row.seq ? row : undefined, row.seq);
          if (problem) return broken(problem);
        }
      }
      if (batch.length < BATCH) break;
    }
    for (; cp < checkpoints.length; cp++) {
      const c = checkpoints[cp]!;
      const problem = checkCheckpoint(c, await this.#signedHere(c), undefined, cursor.nextSeq - 1);
      if (problem) return broken(problem);
    }
    const stray = await unchainedRows(db);
    if (stray.length > 0) {
      return broken({
        seq: cursor.nextSeq,
        at: stray[0]!.at,
        kind: "unlinked",
        message: `A row (id ${
          stray[0]!.id
        }) was written outside the chain: it has no place or hash.`,
      });
    }
    return done({
      intact: true,
      rows,
      lastCheckpointAt: checkpoints.at(-1)?.at ?? null,
      checkedAt: clock.now(),
    });
  }

  /**
   * The signed bundle for `user` (a super admin: the chain is whole or it does not verify),
   * its download recorded first so the bundle itself carries the record of its export.
   */
  async exportFor(user: { id: string; email: string }): Promise<AsyncGenerator<BundleLine>> {
    await this.deps.work.run((tx) =>
      tx.audit({
        action: "audit.exported",
        actor: { kind: "user", id: user.id, label: user.email },
      })
    );
    return this.bundle();
  }

  /**
   * The whole chain as JSON lines: a header with the public key, every row, every checkpoint,
   * and a last line that pins the head at export time, signed, so no row can be cut off the end
   * of a bundle without the signature failing.
   */
  async *bundle(): AsyncGenerator<BundleLine> {
    const { db, key, clock } = this.deps;
    const exportedAt = clock.now();
    yield {
      type: "header",
      format: "assent-audit-bundle-v1",
      exportedAt,
      publicKey: key.publicKey,
      publicKeyPem: key.publicKeyPem,
    };
    let after = 0;
    let head: { seq: number; hash: string } = { seq: 0, hash: CHAIN_START.prevHash };
    let rows = 0;
    while (true) {
      const batch = await chainRows(db, after, BATCH);
      for (const row of batch) {
        yield { type: "row", ...row };
        head = { seq: row.seq, hash: row.hash };
        rows += 1;
      }
      if (batch.length < BATCH) break;
      after = batch.at(-1)!.seq;
    }
    let checkpoints = 0;
    for (const c of await listCheckpoints(db)) {
      if (c.seq > head.seq) continue;
      yield { type: "checkpoint", ...c };
      checkpoints += 1;
    }
    const end = { seq: head.seq, hash: head.hash, at: exportedAt };
    yield {
      type: "end",
      rows,
      checkpoints,
      ...end,
      signature: await key.sign(canonicalCheckpoint(end)),
    };
  }

  async #signedHere(c: StoredCheckpoint): Promise<boolean> {
    // A checkpoint signed by another key (the key file replaced) is not this instance's.
    return c.public_key === this.deps.key.publicKey &&
      await verifyAuditSignature(this.deps.key.publicKey, c.signature, canonicalCheckpoint(c));
  }
}
