/**
 * Route handlers stay short: a handler reads the request, calls a service and renders, so one
 * that grows past {@link MAX_HANDLER_LINES} is doing a use case's or a presenter's work. Lengths
 * are measured from the source as `deno fmt` lays it out: from the `app.<method>(` line to the
 * line that closes it at the same indentation.
 */
import assert from "node:assert/strict";

/** The most lines a route registration may take, its handler included. */
export const MAX_HANDLER_LINES = 25;

/** A route registration that is too long: where it starts and how many lines it takes. */
export interface LongHandler {
  /** "file:line method path", e.g. `remote.tsx:140 get /sessions/:id/files`. */
  at: string;
  lines: number;
}

const REGISTRATION = /^(\s*)app\.(get|post|put|patch|delete|all)\(\s*(?:"([^"]*)"|(\w+))?/;

/** The registrations in `source` (one routes module, `deno fmt`-ed) longer than `max` lines. */
export function longHandlers(file: string, source: string, max = MAX_HANDLER_LINES): LongHandler[] {
  const lines = source.split("\n");
  const found: LongHandler[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = lines[i]!.match(REGISTRATION);
    if (!match || /\);\s*$/.test(lines[i]!)) continue;
    const indent = match[1]!.length;
    let end = i + 1;
    while (end < lines.length && !closes(lines[end]!, indent)) end++;
    const length = end - i + 1;
    if (length > max) {
      found.push({
        at: `${file}:${i + 1} ${match[2]} ${match[3] ?? match[4] ?? "?"}`,
        lines: length,
      });
    }
  }
  return found;
}

function closes(line: string, indent: number): boolean {
  const body = line.trimStart();
  return line.length - body.length === indent && /^[)}]/.test(body);
}

Deno.test("a handler's length runs from its registration to the line that closes it", () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `    const x${i} = ${i};`);
  const source = [
    "export function routes() {",
    '  app.get("/short", (c) => c.text("ok"));',
    '  app.get("/fits", async (c) => {',
    ...body(MAX_HANDLER_LINES - 2),
    "  });",
    '  app.post("/long/:id", requireUser(), async (c) => {',
    "    if (x) {",
    "    }",
    ...body(MAX_HANDLER_LINES - 3),
    "  });",
    "  app.put(path, async (c) => {",
    ...body(MAX_HANDLER_LINES),
    "  });",
    "}",
  ].join("\n");
  assert.deepEqual(longHandlers("x.tsx", source), [
    { at: `x.tsx:${MAX_HANDLER_LINES + 3} post /long/:id`, lines: MAX_HANDLER_LINES + 1 },
    { at: `x.tsx:${2 * MAX_HANDLER_LINES + 4} put path`, lines: MAX_HANDLER_LINES + 2 },
  ]);
});

Deno.test("no route handler is longer than the limit", async () => {
  const dir = new URL("../routes/", import.meta.url);
  const found: LongHandler[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!/\.tsx?$/.test(entry.name) || /_test\.tsx?$/.test(entry.name)) continue;
    found.push(...longHandlers(entry.name, await Deno.readTextFile(new URL(entry.name, dir))));
  }
  assert.deepEqual(
    found,
    [],
    `route handlers over ${MAX_HANDLER_LINES} lines; move their work into a service or presenter`,
  );
});
