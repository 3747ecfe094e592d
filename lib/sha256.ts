/**
 * SHA-256 as lowercase hex, computed in place (no trip to another thread): tokens are hashed on
 * every request, audit rows inside their transaction, packages and archives as they are written.
 * Text is hashed as its UTF-8.
 */
import { createHash } from "node:crypto";

/** The SHA-256 of `data` (text as UTF-8, or bytes) as lowercase hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
