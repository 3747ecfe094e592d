/**
 * What the server loads before its first request: every module reached from main.ts by static
 * imports is evaluated at start and stays in memory (BENCHMARKS.md, start-up and idle memory).
 * Libraries a request needs only now and then load on first use, through import().
 */
import assert from "node:assert/strict";

/** What `deno info --json` says of a module, as far as this test needs it. */
interface GraphModule {
  specifier: string;
  dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
}

/** Libraries the server loads on first use, never at start. */
const ON_FIRST_USE = ["otpauth", "qrcode", "nodemailer", "pg"];

/** Node modules likewise: compression, for backups and agent packages only. */
const NODE_ON_FIRST_USE = ["node:zlib"];

/** The modules main.ts reaches by static imports alone. */
async function loadedAtStart(): Promise<Set<string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: new URL("../", import.meta.url),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.ok(out.success, `deno info failed: ${text.decode(out.stderr)}`);
  const graph = JSON.parse(text.decode(out.stdout)) as {
    roots: string[];
    modules: GraphModule[];
    redirects?: Record<string, string>;
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...graph.roots];
  while (todo.length) {
    const raw = todo.pop()!;
    const specifier = graph.redirects?.[raw] ?? raw;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (!dep.isDynamic && dep.code?.specifier) todo.push(dep.code.specifier);
    }
  }
  return seen;
}

Deno.test("the server loads TOTP, QR codes, mail, PostgreSQL and archives on first use", async () => {
  const atStart = [...await loadedAtStart()];
  assert.ok(atStart.some((s) => s.endsWith("/routes/app.tsx")), "the graph reaches the app");
  for (const name of ON_FIRST_USE) {
    const found = atStart.filter((s) =>
      s.startsWith(`npm:/${name}@`) || s.startsWith(`npm:${name}@`)
    );
    assert.deepEqual(found, [], `${name} is imported statically`);
  }
  for (const name of NODE_ON_FIRST_USE) {
    assert.ok(!atStart.includes(name), `${name} is imported statically`);
  }
});
