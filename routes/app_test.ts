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
