import assert from "node:assert/strict";
import { Hono } from "hono";
import type { Services } from "../../services/mod.ts";
import type { AppEnv } from "../env.ts";
import { clientAddress } from "./client_address.ts";
import { setUp } from "../../tests/support/accounts.ts";
import { testApp } from "../../tests/support/app.ts";

Deno.test("behind a proxy the client is the proxy's last X-Forwarded-For entry", async () => {
  await using t = await testApp();
  await setUp(t);
  t.services.config.trustProxy = true;
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) {
    // The client makes up the first entries; the proxy appends the address it saw.
    const res = await t.app.request("/join/10000000" + (i % 10), {
      headers: { "X-Forwarded-For": `198.51.100.${i}, 203.0.113.50` },
    }, { remoteAddr: { hostname: "127.0.0.1" } });
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses.slice(0, 10), Array(10).fill(404));
  assert.deepEqual(statuses.slice(10), [429, 429], "made-up first entries do not reset the limit");
});

function addressEcho(trustProxy: boolean): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("services", { config: { trustProxy } } as Services);
    await next();
  });
  app.use("*", clientAddress());
  app.get("/", (c) => c.text(c.get("ip")));
  return app;
}

Deno.test("the client is the socket's address, as the Deno server reports it", async () => {
  const app = addressEcho(false);
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
  const res = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
    headers: { "X-Forwarded-For": "203.0.113.9" },
  });
  assert.equal(await res.text(), "127.0.0.1", "without a trusted proxy the header is ignored");
  const direct = await app.request("/");
  assert.equal(await direct.text(), "unknown", "a request with no socket has no address");
});
