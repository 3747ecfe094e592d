// A copied credential alone does not make a working agent: every hello proves the device key.
import assert from "node:assert/strict";
import { generateDeviceKey, signWithDeviceKey } from "../lib/device_key.ts";
import { CLOSE, helloProofMessage, PROTOCOL_VERSION } from "../protocol/messages.ts";
import { findDevice } from "../store/devices.ts";
import { spawnAgent } from "./support/agent.ts";
import { department, enrollmentToken, hello, RawAgent } from "./support/devices.ts";
import { startTestServer, type TestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";

async function audit(server: TestServer, action: string) {
  await server.services.hub.flush();
  return await server.services.db.selectFrom("audit_log").selectAll()
    .where("action", "=", action).orderBy("id").execute();
}

/** The identity point as the key, and as R with S = 0: a signature of every message. */
const IDENTITY_PROOF = { publicKey: "AQ" + "A".repeat(41), signature: "AQ" + "A".repeat(84) };

/** The live connection still answers, and was never told it was replaced. */
async function stillLive(server: TestServer, agent: RawAgent, deviceId: string) {
  const acks = agent.received.filter((m) => m.type === "heartbeat_ack").length;
  agent.send({ type: "heartbeat" });
  await until(
    "a heartbeat_ack",
    () => agent.received.filter((m) => m.type === "heartbeat_ack").length > acks,
  );
  assert.equal(agent.readyState, WebSocket.OPEN);
  assert.ok(server.services.hub.isOnline(deviceId));
  assert.equal(agent.received.some((m) => m.type === "error"), false);
}

/** A device in the state one enrolled before device keys is in after the upgrade: no key. */
async function deviceWithoutKey(server: TestServer) {
  const dept = await department(server.services);
  const old = new RawAgent(server.url);
  const { deviceId, secret } = await old.enroll(await enrollmentToken(server.services, dept));
  old.close();
  await old.closed;
  await server.services.db.updateTable("devices").set({ public_key: null, key_registered_at: null })
    .where("id", "=", deviceId).execute();
  return { deviceId, secret };
}

Deno.test("every connection opens with a fresh challenge of at least 256 bits", async () => {
  await using server = await startTestServer();
  const nonces: string[] = [];
  for (let i = 0; i < 3; i++) {
    const agent = new RawAgent(server.url);
    await agent.open();
    const { nonce } = await agent.next("challenge");
    assert.equal(agent.received[0]?.type, "challenge", "the challenge is the first frame");
    assert.ok(atob(nonce.replaceAll("-", "+").replaceAll("_", "/")).length >= 32);
    nonces.push(nonce);
    agent.close();
    await agent.closed;
  }
  assert.equal(new Set(nonces).size, 3);
});

Deno.test("enrollment stores the public key the new device proved it holds", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 1 });

  // A signature of another connection's challenge enrolls nothing and costs the token nothing.
  const key = await generateDeviceKey();
  const before = new RawAgent(server.url);
  const stale = await before.prove(key, null);
  before.close();
  const forger = new RawAgent(server.url);
  await forger.sendAfterChallenge(hello({ kind: "enroll", token, proof: stale }));
  assert.equal((await forger.closed).code, CLOSE.badKey);
  assert.equal((await server.services.db.selectFrom("devices").selectAll().execute()).length, 0);

  const agent = new RawAgent(server.url);
  const enrolled = await agent.enroll(token, key);
  const row = await findDevice(server.services.db, enrolled.deviceId);
  assert.equal(row!.public_key, key.publicKey);
  assert.ok(row!.key_registered_at);
  const refusals = await audit(server, "device.enrollment_refused");
  assert.deepEqual(refusals.map((r) => r.outcome), ["bad_key"]);
  agent.close();
});

Deno.test("a key of small order, whose signatures hold for any challenge, enrolls nothing", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const token = await enrollmentToken(server.services, dept, { uses: 1 });
  const forger = new RawAgent(server.url);
  await forger.sendAfterChallenge(hello({ kind: "enroll", token, proof: IDENTITY_PROOF }));
  assert.equal((await forger.closed).code, CLOSE.badKey);
  assert.equal((await server.services.db.selectFrom("devices").selectAll().execute()).length, 0);
  const refusals = await audit(server, "device.enrollment_refused");
  assert.deepEqual(refusals.map((r) => r.outcome), ["bad_key"]);
  // The token was not spent: a real key enrolls with it.
  const agent = new RawAgent(server.url);
  await agent.enroll(token, await generateDeviceKey());
  agent.close();
});

Deno.test("a hello with the right secret but no, a wrong or a replayed key proof is refused, audited, and leaves the live connection alone", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const live = new RawAgent(server.url);
  const { deviceId, secret, key } = await live.enroll(await enrollmentToken(server.services, dept));
  const thief = await generateDeviceKey();

  const attempts: [string, (a: RawAgent) => Promise<void>][] = [
    ["no proof", async (a) => {
      await a.sendAfterChallenge(hello({ kind: "device", deviceId, secret }));
    }],
    ["the thief's own key", (a) => a.sendLogin(deviceId, secret, thief)],
    ["the device key's signature of an earlier challenge", async (a) => {
      const before = new RawAgent(server.url);
      const earlier = await before.prove(key, deviceId);
      before.close();
      await a.sendAfterChallenge(hello({ kind: "device", deviceId, secret, proof: earlier }));
    }],
    ["a signature made for enrollment, not this device", async (a) => {
      await a.open();
      const { nonce } = await a.next("challenge");
      const signature = await signWithDeviceKey(key, helloProofMessage(nonce, null));
      a.send(
        hello({ kind: "device", deviceId, secret, proof: { publicKey: key.publicKey, signature } }),
      );
    }],
    ["the right key's public half with the thief's signature", async (a) => {
      await a.open();
      const { nonce } = await a.next("challenge");
      const signature = await signWithDeviceKey(thief, helloProofMessage(nonce, deviceId));
      a.send(
        hello({ kind: "device", deviceId, secret, proof: { publicKey: key.publicKey, signature } }),
      );
    }],
  ];
  for (const [name, attempt] of attempts) {
    const agent = new RawAgent(server.url);
    await attempt(agent);
    const closed = await agent.closed;
    assert.equal(closed.code, CLOSE.badKey, name);
    assert.match(closed.reason, /copied credential alone cannot connect/, name);
    await stillLive(server, live, deviceId);
  }
  const refused = await audit(server, "device.refused");
  assert.deepEqual(refused.map((r) => [r.outcome, r.device_id, r.department_id]), [
    ...attempts.map(() => ["bad_key", deviceId, dept]),
  ]);
  assert.equal((await audit(server, "device.replaced")).length, 0, "nothing was replaced");
  live.close();
});

Deno.test("a recorded hello replayed on a new connection is refused", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const first = new RawAgent(server.url);
  const { deviceId, secret, key } = await first.enroll(
    await enrollmentToken(server.services, dept),
  );
  first.close();
  await first.closed;
  // What a listener on the wire (or the server's log) could have kept of a good hello.
  const recorder = new RawAgent(server.url);
  await recorder.open();
  const proof = await recorder.prove(key, deviceId);
  const recorded = hello({ kind: "device", deviceId, secret, proof });
  recorder.send(recorded);
  await recorder.next("welcome");

  const replay = new RawAgent(server.url);
  await replay.sendAfterChallenge(recorded);
  assert.equal((await replay.closed).code, CLOSE.badKey);
  await stillLive(server, recorder, deviceId);
  recorder.close();
});

Deno.test("a device enrolled without a key cannot register one of small order", async () => {
  await using server = await startTestServer();
  const { deviceId, secret } = await deviceWithoutKey(server);
  const forger = new RawAgent(server.url);
  await forger.sendAfterChallenge(
    hello({ kind: "device", deviceId, secret, proof: IDENTITY_PROOF }),
  );
  assert.equal((await forger.closed).code, CLOSE.badKey);
  assert.equal((await findDevice(server.services.db, deviceId))!.public_key, null);
  assert.equal((await audit(server, "device.key_registered")).length, 0);
  // The device's own new key still registers.
  const key = await generateDeviceKey();
  const agent = new RawAgent(server.url);
  await agent.login(deviceId, secret, key);
  assert.equal((await findDevice(server.services.db, deviceId))!.public_key, key.publicKey);
  agent.close();
});

Deno.test("a device enrolled without a key registers one on its next hello, once; after that only that key works", async () => {
  // Ten first hellos at once from one address: more handshakes than the default lets start.
  await using server = await startTestServer({ handshakes: { total: 16, perAddress: 16 } });
  const { deviceId, secret } = await deviceWithoutKey(server);

  // Ten first hellos at once, each with its own key: exactly one key is registered.
  const keys = await Promise.all(Array.from({ length: 10 }, () => generateDeviceKey()));
  const racers = keys.map(() => new RawAgent(server.url));
  await Promise.all(racers.map((a, i) => a.sendLogin(deviceId, secret, keys[i]!)));
  await until(
    "every hello answered",
    () => racers.every((a) => a.received.some((m) => m.type === "welcome" || m.type === "error")),
  );
  const winners = racers.flatMap((a, i) => a.received.some((m) => m.type === "welcome") ? [i] : []);
  assert.equal(winners.length, 1, "one key wins");
  const winner = winners[0]!;
  for (const [i, racer] of racers.entries()) {
    if (i !== winner) assert.equal((await racer.closed).code, CLOSE.badKey);
  }
  assert.equal(
    (await findDevice(server.services.db, deviceId))!.public_key,
    keys[winner]!.publicKey,
  );
  const registered = await audit(server, "device.key_registered");
  assert.equal(registered.length, 1);
  assert.equal(registered[0]!.device_id, deviceId);
  assert.match(registered[0]!.detail!, new RegExp(keys[winner]!.publicKey));

  racers[winner]!.close();
  await racers[winner]!.closed;
  const again = new RawAgent(server.url);
  await again.login(deviceId, secret, keys[winner]!);
  const other = new RawAgent(server.url);
  await other.sendLogin(deviceId, secret, keys[(winner + 1) % 10]!);
  assert.equal((await other.closed).code, CLOSE.badKey);
  assert.equal((await audit(server, "device.key_registered")).length, 1, "registered once");
  again.close();
});

Deno.test("an agent speaking protocol 1 is told to upgrade", async () => {
  await using server = await startTestServer();
  const dept = await department(server.services);
  const { deviceId, secret } = await new RawAgent(server.url).enroll(
    await enrollmentToken(server.services, dept),
  );
  const agent = new RawAgent(server.url);
  await agent.open();
  // A version 1 agent says hello at once, without waiting for the challenge or signing it.
  agent.send(JSON.stringify({
    type: "hello",
    protocol: 1,
    agent: { version: "0.1.0", platform: "linux" },
    auth: { kind: "device", deviceId, secret },
  }));
  const closed = await agent.closed;
  assert.equal(closed.code, CLOSE.unsupportedVersion);
  assert.match(closed.reason, new RegExp(`speaks ${PROTOCOL_VERSION}: upgrade the agent`));
  assert.match((await agent.next("error")).message, /Protocol 1 is not supported/);
});

Deno.test({
  name:
    "a copied credential.json alone does not connect: refused, audited, and the real agent stays connected",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    await using real = await spawnAgent({
      server: server.url,
      enroll: await enrollmentToken(server.services, dept),
      name: "PC-REAL",
    });
    await real.waitForLog(/connected to/);
    const { id: deviceId } = await server.services.db.selectFrom("devices").select("id")
      .executeTakeFirstOrThrow();
    const since = real.log.length;

    const stolen = await Deno.makeTempDir({ prefix: "assent-stolen-" });
    try {
      await Deno.copyFile(`${real.stateDir}/credential.json`, `${stolen}/credential.json`);
      await using fake = await spawnAgent({
        server: server.url,
        stateDir: stolen,
        name: "PC-FAKE",
      });
      await fake.waitForLog(/stopped: refused: .*copied credential alone cannot connect.*4014/);
      assert.equal((await fake.status).code, 1, "the copy stops instead of retrying");
    } finally {
      await Deno.remove(stolen, { recursive: true });
    }
    const refused = await audit(server, "device.refused");
    assert.deepEqual(refused.map((r) => [r.outcome, r.device_id]), [["bad_key", deviceId]]);
    assert.ok(server.services.hub.isOnline(deviceId));
    assert.equal(
      real.log.slice(since).some((l) => /disconnected|stopped|Replaced/.test(l)),
      false,
      "the real agent never noticed",
    );
    assert.equal((await findDevice(server.services.db, deviceId))!.name, "PC-REAL");
    assert.equal((await audit(server, "device.replaced")).length, 0);
  },
});

Deno.test({
  name: "an agent from before device keys registers its key on its first start after the upgrade",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const stateDir = await Deno.makeTempDir({ prefix: "assent-upgrade-" });
    try {
      {
        await using first = await spawnAgent({
          server: server.url,
          stateDir,
          enroll: await enrollmentToken(server.services, dept),
        });
        await first.waitForLog(/connected to/);
      }
      const { id: deviceId } = await server.services.db.selectFrom("devices").select("id")
        .executeTakeFirstOrThrow();
      await until("the device to go offline", () => !server.services.hub.isOnline(deviceId));
      // What an older agent left behind, and what the server knows of it after the upgrade.
      await Deno.remove(`${stateDir}/device-key.json`);
      await server.services.db.updateTable("devices").set({ public_key: null }).execute();

      await using upgraded = await spawnAgent({ server: server.url, stateDir });
      await upgraded.waitForLog(/connected to/);
      const saved = JSON.parse(await Deno.readTextFile(`${stateDir}/device-key.json`));
      assert.equal((await findDevice(server.services.db, deviceId))!.public_key, saved.publicKey);
      assert.equal((await Deno.stat(`${stateDir}/device-key.json`)).mode! & 0o777, 0o600);
      const registered = await audit(server, "device.key_registered");
      assert.deepEqual(registered.map((r) => r.device_id), [deviceId]);
    } finally {
      await Deno.remove(stateDir, { recursive: true });
    }
  },
});
