import assert from "node:assert/strict";
import { setUp } from "../tests/support/accounts.ts";
import { testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";

Deno.test("unknown pages are a friendly 404", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const res = await owner.get("/no/such/page");
  assert.equal(res.status, 404);
  assert.match(await textOf(res), /There is no page at this address/);
});

// Middleware is scoped by where it is mounted (the API is a sub-app at /api, the setup page is
// mounted before the setup gate), never by a path test inside it that a new route can slip past.
const PATH_PREDICATE = /(startsWith|endsWith)\(\s*["'`]\/|[!=]==\s*["'`]\/\w/;

Deno.test("no shared middleware picks its requests by testing the path", async () => {
  const dir = new URL("./middleware/", import.meta.url);
  const sources: [string, string][] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".ts") || entry.name.endsWith("_test.ts")) continue;
    sources.push([`middleware/${entry.name}`, await Deno.readTextFile(new URL(entry.name, dir))]);
  }
  const app = await Deno.readTextFile(new URL("./app.tsx", import.meta.url));
  sources.push(["app.tsx", app.split("\n").filter((l) => l.includes("app.use(")).join("\n")]);
  const found = sources.flatMap(([file, source]) =>
    source.split("\n").filter((line) => PATH_PREDICATE.test(line)).map((line) =>
      `${file}: ${line.trim()}`
    )
  );
  assert.deepEqual(found, []);
  // The check itself catches the predicates it is there for.
  assert.ok(PATH_PREDICATE.test(`app.use("*", csrf({ exempt: (p) => p.startsWith("/api/") }));`));
  assert.ok(PATH_PREDICATE.test(`if (pending && path !== "/setup") {`));
  assert.ok(PATH_PREDICATE.test(`if (c.req.path.endsWith("/files/upload")) {`));
});
