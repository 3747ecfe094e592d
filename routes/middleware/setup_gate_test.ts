import assert from "node:assert/strict";
import { Hono } from "hono";
import { setUp } from "../../tests/support/accounts.ts";
import { type TestApp, testApp } from "../../tests/support/app.ts";
import { type AppEnv, HttpError } from "../env.ts";
import { setupGate } from "./setup_gate.ts";

/** A bare app behind the gate, with the real services behind it. */
function app(t: TestApp): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("services", t.services);
    await next();
  });
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.text(err.message, err.status);
    throw err;
  });
  app.use("*", setupGate());
  app.get("/devices", (c) => c.text("devices"));
  app.on("HEAD", "/devices", (c) => c.body(null, 200));
  app.post("/devices", (c) => c.text("changed"));
  return app;
}

Deno.test("before setup, pages lead to /setup and changes are refused with 409", async () => {
  await using t = await testApp();
  for (const method of ["GET", "HEAD"]) {
    const res = await app(t).request("/devices", { method });
    assert.equal(res.status, 303, method);
    assert.equal(res.headers.get("Location"), "/setup");
  }
  const post = await app(t).request("/devices", { method: "POST" });
  assert.equal(post.status, 409);
  assert.equal(await post.text(), "Assent is not set up yet. Open /setup first.");
});

Deno.test("after setup the gate lets every request through", async () => {
  await using t = await testApp();
  await setUp(t);
  assert.equal(await (await app(t).request("/devices")).text(), "devices");
  assert.equal(await (await app(t).request("/devices", { method: "POST" })).text(), "changed");
});

Deno.test("setup completed from the console opens the gate without a restart", async () => {
  await using t = await testApp();
  assert.equal((await app(t).request("/devices")).status, 303);
  await t.services.accounts.completeSetupFromConsole("Example IT", { kind: "console" });
  assert.equal(t.services.instance.organization, null, "the cached name is still the old one");
  assert.equal(await (await app(t).request("/devices")).text(), "devices");
  assert.equal(t.services.instance.organization, "Example IT");
});
