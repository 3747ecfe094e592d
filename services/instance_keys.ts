/**
 * The keys of the data directory must be the ones the database was first used with: every node
 * of a cluster, and a server restored from a backup, holds the same `secret.key` and
 * `audit.key`. A node with other keys would seal authenticator secrets no other node can open
 * and sign audit checkpoints nobody can verify, so it refuses to start instead, saying which.
 */
import { keyFingerprint } from "../lib/audit_key.ts";
import type { AuditKey } from "../lib/audit_key.ts";
import type { Clock } from "../lib/clock.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import type { Db } from "../store/db.ts";
import { claimKeyFingerprint } from "../store/instance.ts";

/** Why a server cannot use this database with these keys. */
export class InstanceKeyError extends Error {}

/** The purpose the instance secret's fingerprint is derived for (it tells nothing of the key). */
const FINGERPRINT_INFO = "assent:key-fingerprint:v1";

/**
 * Records the keys' fingerprints on a database's first start and checks them at every later
 * one; throws {@link InstanceKeyError} naming the file that differs.
 */
export async function checkInstanceKeys(
  db: Db,
  keys: { box: SecretBox; auditKey: AuditKey },
  clock: Clock,
): Promise<void> {
  const derived = keys.box.derive(FINGERPRINT_INFO).slice(0, 16);
  const secret = Array.from(derived, (b) => b.toString(16).padStart(2, "0")).join("");
  const mine = { secret, audit: await keyFingerprint(keys.auditKey.publicKey) };
  for (const [name, file] of [["secret", "secret.key"], ["audit", "audit.key"]] as const) {
    const kept = await claimKeyFingerprint(db, name, mine[name], clock.now());
    if (kept !== mine[name]) {
      throw new InstanceKeyError(
        `This data directory's ${file} is not the one this database was first used with. ` +
          "Copy secret.key and audit.key from the data directory of the first server (or from " +
          "its backup) into this one before starting.",
      );
    }
  }
}
