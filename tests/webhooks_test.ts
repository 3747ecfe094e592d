// Webhooks end to end: a real server, a real agent and a real receiver on loopback hear the
// decisions as they are made.
import assert from "node:assert/strict";
import { verifyWebhook } from "../lib/webhook_signature.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

Deno.test("a ticketing tool hears the device come online and the authorization requested and granted", async () => {
  const received: { event: string; body: Record<string, unknown>; valid: boolean }[] = [];
  let secret = "";
  const receiver = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (req) => {
      const body = await req.text();
      received.push({
        event: req.headers.get("X-Assent-Event") ?? "",
        body: JSON.parse(body),
        valid: verifyWebhook({
          secret,
          timestamp: req.headers.get("X-Assent-Timestamp"),
          signature: req.headers.get("X-Assent-Signature"),
          body,
        }, Date.now() / 1000),
      });
      return new Response("ok");
    },
  );
  try {
    await using w = await world();
    const created = await w.server.services.webhooks.create({
      url: `http://127.0.0.1:${receiver.addr.port}/assent`,
      events: ["device.online", "authorization.requested", "authorization.granted"],
    }, { id: "test", label: "test" });
    secret = created.secret;
    const { deviceId } = await w.agent("PC-HOOKS");
    await w.owner.get(`/devices/${deviceId}`);
    await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" });
    const panel = await (await w.owner.get(`/devices/${deviceId}/panel`)).text();
    const sessionId = panel.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)?.[1];
    assert.ok(sessionId);
    assert.equal((await w.owner.post(`/sessions/${sessionId}/authorize`)).status, 303);
    await until("three events delivered", () => received.length >= 3);
    assert.deepEqual(received.map((r) => r.event), [
      "device.online",
      "authorization.requested",
      "authorization.granted",
    ]);
    assert.ok(received.every((r) => r.valid), "every delivery is signed");
    assert.equal(received[0]!.body.deviceId, deviceId);
    assert.equal(received[2]!.body.sessionId, sessionId);
    assert.equal(received[1]!.body.attemptId, received[2]!.body.attemptId);
    assert.equal((received[1]!.body.actor as Record<string, unknown>).name, "Olive Owner");
  } finally {
    await receiver.shutdown();
  }
});
