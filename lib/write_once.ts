/**
 * A file that is made once and never changed (the instance secret, the audit key), when several
 * processes may start on a fresh data directory at the same moment (a server and the console):
 * each writes its candidate whole to a file of its own, and one hard link publishes it. The others
 * read the winner's, so every process holds the same key and nobody reads a half-written file.
 */
import { dirname, join } from "node:path";

/** The file's content: `make()`'s, published at `path`, or what another process published first. */
export async function readOrPublish(
  path: string,
  make: () => Promise<Uint8Array>,
): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const candidate = join(dirname(path), `.${crypto.randomUUID()}.tmp`);
  const bytes = await make();
  await Deno.writeFile(candidate, bytes, { mode: 0o600, createNew: true });
  try {
    await Deno.link(candidate, path);
    return bytes;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    return await Deno.readFile(path);
  } finally {
    await Deno.remove(candidate);
  }
}
