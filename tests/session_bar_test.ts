// The session bar of the remote-control and file pages follows the authorization: its countdown
// comes from the server's time left, and once the authorization ends it says how and offers the
// way back. Real server, real agent processes, HTTP like a browser.
import assert from "node:assert/strict";
import { FakeClock } from "../lib/clock.ts";
import { createUser, PASSWORD } from "./support/accounts.ts";
import { authorizedSession } from "./support/channels.ts";
import { type Client, textOf } from "./support/client.ts";
import { type World, world } from "./support/world.ts";
import { until } from "./support/wait.ts";

async function signedIn(w: World, email = "owner@example.com"): Promise<Client> {
  const client = w.client();
  await client.get("/login");
  const res = await client.post("/login", { email, password: PASSWORD });
  assert.equal(res.status, 303);
  return client;
}

Deno.test("the bar counts down from the server's time left and says when the authorization expired", async () => {
  const clock = new FakeClock(Date.now());
  await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
  const { deviceId } = await w.agent("PC-BAR");
  const sessionId = await authorizedSession(w.owner, deviceId);

  const remote = await (await w.owner.get(`/sessions/${sessionId}/remote`)).text();
  assert.match(remote, /data-left-ms="14400000"/);
  assert.match(remote, />4:00:00</);
  assert.match(remote, /sse-connect="\/sessions\/[^"]+\/live"/);
  const files = await (await w.owner.get(`/sessions/${sessionId}/files`)).text();
  assert.match(files, /id="session-bar"/);

  clock.advance(3600_000 + 1500);
  await w.server.services.scheduler.settled();
  // An hour on, the sign-in has lapsed; sign in again to look.
  const later = await (await (await signedIn(w)).get(`/sessions/${sessionId}/bar`)).text();
  assert.match(later, /data-left-ms="10798500"/, "the time left as the server counts it");
  assert.match(later, /Deauthorize Session/);

  clock.advance(3 * 3600_000);
  await w.server.services.scheduler.settled();
  await until(
    "the session unauthorized",
    async () =>
      (await w.server.services.sessions.get(sessionId))!.session.status.kind === "unauthorized",
  );
  await until(
    "the consent receipt",
    async () => (await w.server.services.receipts.ofSession(sessionId)).length === 1,
  );
  // Four hours on, the browser session has ended too; sign in again to look.
  const owner = await signedIn(w);
  const bar = await (await owner.get(`/sessions/${sessionId}/bar`)).text();
  assert.match(bar, /data-state="ended"/);
  assert.doesNotMatch(bar, /role="timer"|data-left-ms|Deauthorize Session/);
  assert.match(
    await textOf(await owner.get(`/sessions/${sessionId}/bar`)),
    /PC-BAR Not authorized Authorization expired The authorization of the support session has expired Consent receipt Request Authorization on the device page/,
  );
  assert.match(
    bar,
    new RegExp(`href="/devices/${deviceId}"[^>]*data-action="request_authorization"`),
  );
});

Deno.test("the bar says the device cannot be reached while the authorization still runs", async () => {
  await using w = await world();
  const { agent, deviceId } = await w.agent("PC-GONE");
  const sessionId = await authorizedSession(w.owner, deviceId);
  assert.doesNotMatch(
    await (await w.owner.get(`/sessions/${sessionId}/bar`)).text(),
    /Unable to connect/,
  );
  agent.kill("SIGKILL");
  await until(
    "the device to go offline",
    () => Promise.resolve(!w.server.services.hub.isOnline(deviceId)),
  );
  const bar = await textOf(await w.owner.get(`/sessions/${sessionId}/bar`));
  assert.match(bar, /Authorized .* left Unable to connect to the device Deauthorize Session/);
});

Deno.test("another technician's session bar and live stream are not found", async () => {
  await using w = await world();
  const { deviceId } = await w.agent("PC-MINE");
  const sessionId = await authorizedSession(w.owner, deviceId);
  await createUser({ services: w.server.services } as never, {
    email: "tess@example.com",
    role: "technician",
    departmentIds: [w.departmentId],
  });
  const other = await signedIn(w, "tess@example.com");
  for (const path of ["bar", "live"]) {
    const res = await other.get(`/sessions/${sessionId}/${path}`);
    assert.equal(res.status, 404, path);
    const body = await res.text();
    assert.doesNotMatch(body, /PC-MINE|Deauthorize/);
  }
  const anonymous = await w.client().get(`/sessions/${sessionId}/bar`);
  assert.notEqual(anonymous.status, 200);
  await anonymous.body?.cancel();
});
