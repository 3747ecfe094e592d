// The JSON API against a real server and a real agent: Secure Connect step-up, confirmation, deauthorize.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { totpCode } from "../lib/totp.ts";
import { enrolTotp } from "./support/accounts.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

Deno.test({
  name: "API: step-up, end-user accept, authorized, deauthorize (by name) — with a real agent",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { secret } = await enrolTotp({ clock }, w.owner);
    await w.policies((p) => ({
      ...p,
      confirmation: { ...p.confirmation, enabled: true },
      secureConnect: { ...p.secureConnect, enabled: true },
    }));
    const ownerId =
      (await w.server.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow()).id;
    const { token } = await w.server.services.apiTokens.create({
      userId: ownerId,
      name: "ci",
      expiresAt: null,
    }, { kind: "system" });
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${w.server.url}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    };
    const { agent, deviceId } = await w.agent("API-PC");
    const opened = await call("POST", `/api/v1/devices/${deviceId}/sessions`, {});
    assert.equal(opened.status, 201);
    const id = opened.json.session.id;

    const stepUp = await call("POST", `/api/v1/sessions/${id}/authorize`);
    assert.equal(stepUp.status, 403);
    assert.equal(stepUp.json.code, "secure_connect_required");
    assert.equal(stepUp.json.method, "totp");

    const wrong = await call("POST", `/api/v1/sessions/${id}/authorize`, { code: "000000" });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.json.code, "mfa_failed");

    const started = await call("POST", `/api/v1/sessions/${id}/authorize`, {
      code: totpCode(secret, clock.now()),
    });
    assert.equal(started.status, 202);
    assert.equal(started.json.session.status, "authorizing");
    assert.deepEqual(started.json.session.waitingFor, ["confirmation"]);

    await agent.waitForScreen(/Olive Owner wants to connect/);
    await agent.type("accept");
    const state = await until("the API to say authorized", async () => {
      const { session } = (await call("GET", `/api/v1/sessions/${id}`)).json;
      return session.status === "authorized" && session;
    });
    assert.equal(state.authorizedUntil - clock.now(), 4 * 3600_000);
    assert.equal(state.actions.deauthorize_session.enabled, true);

    const ended = await call("POST", `/api/v1/sessions/${id}/deauthorize`);
    assert.equal(ended.status, 200);
    assert.equal(ended.json.session.status, "unauthorized");
    assert.equal(ended.json.session.lastOutcome.outcome, "deauthorized");
    assert.equal(ended.json.session.lastOutcome.byName, "Olive Owner", "the id comes with a name");
    assert.match(ended.json.session.lastOutcome.by, /^[A-Za-z0-9_-]+$/);
    await agent.waitForLog(/ended \(deauthorized\)/);
  },
});
