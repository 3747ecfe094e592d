/**
 * Checks a signed audit bundle (`/admin/audit/bundle.jsonl` or `assent admin audit export`)
 * offline, with nothing but this file and the runtime's WebCrypto. It imports nothing from
 * Assent on purpose: docs/audit-verification.md describes the same steps for any language.
 *
 *   deno run --allow-read scripts/verify_audit_bundle.ts BUNDLE [--public-key KEY]
 *
 * KEY is the public key shown under Admin → Audit integrity; without it the bundle is checked
 * against the key it names itself, which proves consistency but not origin. Exit 0 when the
 * bundle verifies, 1 when it does not, 2 on a usage mistake.
 */

const GENESIS = "0".repeat(64);
const FIELDS = [
  "seq",
  "at",
  "action",
  "outcome",
  "actor_kind",
  "actor_id",
  "actor_label",
  "device_id",
  "session_id",
  "attempt_id",
  "department_id",
  "detail",
  "prev_hash",
] as const;

type Line = Record<string, unknown>;

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromBase64Url(text: string): Uint8Array {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function signedBy(publicKey: string, signature: string, line: Line): Promise<boolean> {
  const message = JSON.stringify(["assent-audit-checkpoint-v1", line.seq, line.hash, line.at]);
  try {
    const key = await crypto.subtle.importKey(
      "raw",
      fromBase64Url(publicKey) as BufferSource,
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    return await crypto.subtle.verify(
      { name: "Ed25519" },
      key,
      fromBase64Url(signature) as BufferSource,
      new TextEncoder().encode(message),
    );
  } catch {
    return false;
  }
}

/** Verifies the bundle's text; returns the verdict line and whether it holds. */
export async function verifyBundle(
  text: string,
  pinnedKey: string | null,
): Promise<{ ok: boolean; message: string }> {
  const fail = (message: string) => ({ ok: false, message: `NOT VERIFIED: ${message}` });
  const lines = text.split("\n").filter((l) => l !== "");
  let parsed: Line[];
  try {
    parsed = lines.map((l) => JSON.parse(l));
  } catch {
    return fail("a line is not JSON.");
  }
  const header = parsed[0];
  if (header?.type !== "header" || header.format !== "assent-audit-bundle-v1") {
    return fail("the first line is not an assent-audit-bundle-v1 header.");
  }
  const publicKey = String(header.publicKey);
  if (pinnedKey !== null && pinnedKey !== publicKey) {
    return fail("the bundle names another public key than the one you gave.");
  }
  const hashes = new Map<number, string>();
  let expectedSeq = 1;
  let prev = GENESIS;
  let checkpoints = 0;
  let end: Line | null = null;
  for (const line of parsed.slice(1)) {
    if (end !== null) return fail("lines follow the signed end line.");
    if (line.type === "row") {
      if (line.seq !== expectedSeq) {
        return fail(`row ${expectedSeq} is missing or out of order (found row ${line.seq}).`);
      }
      if (line.prev_hash !== prev) {
        return fail(`row ${line.seq} does not follow row ${expectedSeq - 1}.`);
      }
      // A row written through an API token also covers the token (the v2 form).
      const token = [line.api_token_id ?? null, line.api_token_name ?? null];
      const canonical = token[0] === null && token[1] === null
        ? JSON.stringify(["assent-audit-row-v1", ...FIELDS.map((f) => line[f])])
        : JSON.stringify(["assent-audit-row-v2", ...FIELDS.map((f) => line[f]), ...token]);
      if (await sha256Hex(canonical) !== line.hash) {
        return fail(`row ${line.seq} was changed: its content does not match its hash.`);
      }
      hashes.set(line.seq as number, line.hash as string);
      prev = line.hash as string;
      expectedSeq += 1;
    } else if (line.type === "checkpoint") {
      if (!await signedBy(publicKey, String(line.signature), line)) {
        return fail(`the checkpoint of row ${line.seq} is not signed by the key.`);
      }
      if (hashes.get(line.seq as number) !== line.hash) {
        return fail(`the checkpoint of row ${line.seq} names a row the bundle does not hold.`);
      }
      checkpoints += 1;
    } else if (line.type === "end") {
      end = line;
    } else return fail(`unknown line type "${String(line.type)}".`);
  }
  if (end === null) return fail("the signed end line is missing: the bundle was cut short.");
  if (!await signedBy(publicKey, String(end.signature), end)) {
    return fail("the end line is not signed by the key.");
  }
  const lastSeq = expectedSeq - 1;
  if (end.seq !== lastSeq || end.hash !== prev || end.rows !== lastSeq) {
    return fail(`the signed end names row ${end.seq} but the bundle ends at row ${lastSeq}.`);
  }
  if (end.checkpoints !== checkpoints) return fail("checkpoints were removed from the bundle.");
  const when = new Date(end.at as number).toISOString();
  return {
    ok: true,
    message: `VERIFIED: ${lastSeq} rows, ${checkpoints} checkpoints, exported ${when}${
      pinnedKey === null ? " (key not pinned: pass --public-key to check who signed it)" : ""
    }.`,
  };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const k = args.indexOf("--public-key");
  const pinned = k >= 0 ? args.splice(k, 2)[1] ?? null : null;
  const [path] = args;
  if (!path || (k >= 0 && pinned === null)) {
    console.error("usage: verify_audit_bundle.ts BUNDLE [--public-key KEY]");
    Deno.exit(2);
  }
  const result = await verifyBundle(await Deno.readTextFile(path), pinned);
  console.log(result.message);
  Deno.exit(result.ok ? 0 : 1);
}
