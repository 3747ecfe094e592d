// The bundles' text: written in Latin-1 so V8 holds their source one byte a character.
import assert from "node:assert/strict";
import { latin1Source } from "./bundle.ts";

Deno.test("a bundle's characters above U+00FF become escapes that mean the same", async () => {
  const js = [
    "// Load \u2192 decide \u2192 save",
    'const dash = "a \u2014 b";',
    "const tpl = `wait\u2026 ${dash}`;",
    "const re = /[\u2190-\u2193]/;",
    'const emoji = "\u{1F600}";',
    'const latin1 = "gr\u00fc\u00dfe \u00e9t\u00e9";',
    "export default { dash, tpl, source: re.source, hit: re.test('\u2192'), emoji, latin1 };",
  ].join("\n");
  const out = latin1Source(js);
  assert.ok(!/[\u0100-\uffff]/.test(out), out);
  assert.ok(out.includes("gr\u00fc\u00dfe"), "Latin-1 characters stay as they are");
  const run = (code: string) =>
    import(
      `data:text/javascript;base64,${btoa(String.fromCharCode(...new TextEncoder().encode(code)))}`
    );
  const [before, after] = await Promise.all([run(js), run(out)]);
  assert.equal(after.default.dash, "a \u2014 b");
  assert.equal(after.default.tpl, "wait\u2026 a \u2014 b");
  assert.equal(after.default.emoji, "\u{1F600}");
  assert.equal(after.default.hit, true);
  assert.deepEqual(
    { ...after.default, source: undefined },
    { ...before.default, source: undefined },
  );
});

Deno.test("a character in a raw template or after a backslash fails the build", () => {
  assert.throws(
    () => latin1Source("const s = String.raw`Write-Host \u2026`;", "agent.js"),
    /agent\.js has "\u2026" in a raw template/,
  );
  assert.throws(() => latin1Source("const r = /\\\u2014/;"), /after a backslash/);
  // A raw template without one, and one after it, are fine.
  assert.equal(
    latin1Source("String.raw`C:\\x` + '\u2014'"),
    "String.raw`C:\\x` + '\\u2014'",
  );
});
