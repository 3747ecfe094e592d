/**
 * `deno task start` as deno.json writes it (scripts/start.ts reads it the same way): commands
 * that bring the server's bundle up to date, then the one that runs the server from it. Tests
 * that check the server's permissions read them here, from the command that runs the server.
 */
import { startTaskServerCommand } from "../../scripts/start.ts";

export { startTaskServerCommand };

/** Of a command's words, the permissions, --no-prompt and the V8 flags. */
export function serverFlagsOf(words: string[]): string[] {
  return words.filter((word) => /^--(allow-|no-prompt$|v8-flags)/.test(word));
}

/** The server's permissions, --no-prompt and its V8 flags, as the start task runs it. */
export async function startTaskServerFlags(): Promise<string[]> {
  return serverFlagsOf(await startTaskServerCommand());
}

/**
 * The pids of the children of `parent` whose command lines hold `needle` (Linux: read from
 * /proc, every thread's children). `deno task` runs its commands as its own children.
 */
export async function childProcesses(parent: number, needle: string): Promise<number[]> {
  const found: number[] = [];
  for await (const thread of Deno.readDir(`/proc/${parent}/task`)) {
    const children = await Deno.readTextFile(`/proc/${parent}/task/${thread.name}/children`)
      .catch(() => "");
    for (const pid of children.trim().split(/\s+/).filter(Boolean)) {
      const cmdline = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
      if (cmdline.includes(needle)) found.push(Number(pid));
    }
  }
  return found;
}
