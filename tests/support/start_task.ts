/**
 * `deno task start` as deno.json writes it (scripts/start.ts reads it the same way): commands
 * that bring the server's bundle up to date, then the one that runs the server from it. Tests
 * that check the server's permissions read them here, from the command that runs the server.
 */
import { startTaskCommands } from "../../scripts/start.ts";

/** The command that runs the server: the start task's last. */
export async function startTaskServerCommand(): Promise<string[]> {
  return (await startTaskCommands()).at(-1)!;
}

/** Of a command's words, the permissions, --no-prompt and the V8 flags. */
export function serverFlagsOf(words: string[]): string[] {
  return words.filter((word) => /^--(allow-|no-prompt$|v8-flags)/.test(word));
}

/** The server's permissions, --no-prompt and its V8 flags, as the start task runs it. */
export async function startTaskServerFlags(): Promise<string[]> {
  return serverFlagsOf(await startTaskServerCommand());
}

/**
 * The pid of the child of `parent` whose command line holds `needle`, or null (Linux: read from
 * /proc). `deno task` runs its commands as its own children.
 */
export async function childProcess(parent: number, needle: string): Promise<number | null> {
  const children = await Deno.readTextFile(`/proc/${parent}/task/${parent}/children`)
    .catch(() => "");
  for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
    const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
    if (cmdline.includes(needle)) return Number(pid);
  }
  return null;
}
