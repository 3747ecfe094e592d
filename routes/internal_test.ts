import assert from "node:assert/strict";
import { createLogger } from "../lib/log.ts";
import { NODE_AUTH_INFO, NODE_AUTH_SKEW_MS, nodeAuthorization } from "../lib/node_auth.ts";
import { SecretBox } from "../lib/secret_box.ts";
import { NODE_CHANNELS_PURPOSE } from "../protocol/node_channels.ts";
import { testApp } from "../tests/support/app.ts";

const URL_ = "http://localhost/internal/channels";

function upgradeRequest(authorization?: string): Request {
  const headers = new Headers({ Upgrade: "websocket", Connection: "Upgrade" });
  if (authorization) headers.set("Authorization", authorization);
  return new Request(URL_, { headers });
}

Deno.test("the internal endpoint refuses a missing, foreign, expired or replayed signature before any upgrade", async () => {
  const lines: string[] = [];
  await using t = await testApp({ log: createLogger("info", { sink: (l) => lines.push(l) }) });
  const key = t.services.box.derive(NODE_AUTH_INFO);
  const sign = (at = t.clock.now(), k = key) =>
    nodeAuthorization(k, { purpose: NODE_CHANNELS_PURPOSE, nodeId: "node-b", at });

  const missing = await t.app.request(upgradeRequest());
  assert.equal(missing.status, 401);
  assert.match(await missing.text(), /for the servers of this installation only/);

  const foreignKey = new SecretBox(new Uint8Array(32).fill(7)).derive(NODE_AUTH_INFO);
  const foreign = sign(t.clock.now(), foreignKey);
  const wrong = await t.app.request(upgradeRequest(foreign));
  assert.equal(wrong.status, 403);
  assert.match(await wrong.text(), /signature is not valid/);

  const old = await t.app.request(upgradeRequest(sign(t.clock.now() - NODE_AUTH_SKEW_MS - 1)));
  assert.equal(old.status, 403);
  assert.match(await old.text(), /clocks agree/);

  // A valid signature gets past the gate: without a real socket the upgrade itself is asked for.
  const good = sign();
  const first = await t.app.request(new Request(URL_, { headers: { Authorization: good } }));
  assert.equal(first.status, 426);
  await first.body?.cancel();
  const replay = await t.app.request(upgradeRequest(good));
  assert.equal(replay.status, 403);
  assert.match(await replay.text(), /already used/);

  const refusals = lines.filter((l) => l.includes("an internal call was refused"));
  assert.equal(refusals.length, 4);
  for (const line of lines) {
    assert.ok(!line.includes(good.split(".")[3]!), "no signature reaches the log");
    assert.ok(!line.includes(foreign.split(".")[3]!), "no signature reaches the log");
  }
});

Deno.test("fifty calls at once with one signature: one gets past the gate", async () => {
  await using t = await testApp();
  const header = nodeAuthorization(t.services.box.derive(NODE_AUTH_INFO), {
    purpose: NODE_CHANNELS_PURPOSE,
    nodeId: "node-b",
    at: t.clock.now(),
  });
  const answers = await Promise.all(
    Array.from(
      { length: 50 },
      () => t.app.request(new Request(URL_, { headers: { Authorization: header } })),
    ),
  );
  for (const a of answers) await a.body?.cancel();
  assert.deepEqual(
    answers.map((a) => a.status).sort(),
    [...Array(49).fill(403), 426].sort(),
  );
});

Deno.test("a signed-in person's cookie or an API token does not open the internal endpoint", async () => {
  await using t = await testApp();
  const res = await t.app.request(
    new Request(URL_, {
      headers: { Authorization: "Bearer not-a-node", Cookie: "assent_session=x" },
    }),
  );
  assert.equal(res.status, 401);
  await res.body?.cancel();
});
