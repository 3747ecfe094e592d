/**
 * `deno task start` as deno.json writes it: a first command that brings the server's bundle up
 * to date (scripts/start.ts), then the command that runs the server from it. Tests that check
 * the server's permissions read them here, from the command that runs the server.
 */
const ROOT = new URL("../../", import.meta.url);

/** The start task's commands, each split into its words. */
export async function startTaskCommands(): Promise<string[][]> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  return (config.tasks.start as string).split("&&").map((command) => command.trim().split(/\s+/));
}

/** The command that runs the server: the start task's last. */
export async function startTaskServerCommand(): Promise<string[]> {
  return (await startTaskCommands()).at(-1)!;
}

/** The server's permissions, --no-prompt and its V8 flags, as the start task runs it. */
export async function startTaskServerFlags(): Promise<string[]> {
  return (await startTaskServerCommand()).filter((word) =>
    /^--(allow-|no-prompt$|v8-flags)/.test(word)
  );
}
