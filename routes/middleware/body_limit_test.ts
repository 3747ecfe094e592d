import assert from "node:assert/strict";
import { listDepartments } from "../../store/departments.ts";
import { setUp } from "../../tests/support/accounts.ts";
import { testApp } from "../../tests/support/app.ts";
import { Client } from "../../tests/support/client.ts";

Deno.test("an oversized form is refused with 413", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await owner.get("/admin/departments");
  const res = await owner.post("/admin/departments", { name: "x".repeat(100_000) });
  assert.equal(res.status, 413);
  assert.equal((await listDepartments(t.services.db)).length, 0);
});

Deno.test("a form body is limited before sign-in, also without a Content-Length", async () => {
  await using t = await testApp();
  await setUp(t);
  const anonymous = new Client(t);
  await anonymous.get("/login");
  const chunk = new TextEncoder().encode("a".repeat(16 * 1024));
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(chunk);
    },
  });
  const res = await anonymous.request("/login", {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  assert.equal(res.status, 413);
  assert.ok(pulled < 10, `read ${pulled} chunks of 16 KiB`);
});
