/**
 * One process at a time owns a data directory: the server while it runs, a restore while it
 * replaces the files. The owner holds an exclusive lock on `assent.lock`; the operating system
 * drops it when the process ends, however it ends, so a crash leaves no stale lock behind.
 */
import { join } from "node:path";

/** The data directory is owned by another process (a running server, or a restore). */
export class DataDirInUseError extends Error {
  override name = "DataDirInUseError";
}

/** A held lock on a data directory. */
export interface DataDirLock {
  release(): void;
}

/** Takes the data directory's lock, or throws {@link DataDirInUseError} naming its holder. */
export async function lockDataDir(dataDir: string, holder: string): Promise<DataDirLock> {
  const path = join(dataDir, "assent.lock");
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o600 });
  if (!await file.tryLock(true)) {
    let owner = "";
    try {
      owner = (await Deno.readTextFile(path)).trim().slice(0, 200);
    } catch {
      // Who holds it is only a courtesy in the message.
    }
    file.close();
    throw new DataDirInUseError(
      `The data directory "${dataDir}" is in use${owner ? ` by ${owner}` : ""}`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`${holder} (pid ${Deno.pid})\n`));
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      file.close();
    },
  };
}
