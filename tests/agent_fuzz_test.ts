import assert from "node:assert/strict";
import fc from "fast-check";
import { LIMITS } from "../protocol/messages.ts";
import { department, enrollmentToken, hello, RawAgent } from "./support/devices.ts";
import { startTestServer } from "./support/server.ts";
import { until } from "./support/wait.ts";

/** Valid messages to mutate: a hello with a real credential, heartbeats, device info, answers. */
function seeds(deviceId: string, secret: string): unknown[] {
  return [
    hello({ kind: "device", deviceId, secret }),
    { type: "heartbeat" },
    {
      type: "device_info",
      info: {
        name: "fuzz",
        serialNumber: null,
        os: "Linux",
        osFamily: "linux",
        model: null,
        deviceType: null,
        ipAddresses: [],
        users: [],
        locked: null,
        loggedOff: null,
        capabilities: ["prompt"],
      },
    },
    { type: "prompt_answer", promptId: "p1", answer: "accept" },
    { type: "channel_close", channelId: 1 },
  ];
}

/** Replaces one value somewhere in a JSON value with an arbitrary one. */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== "object") return replacement;
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.entries(value);
  if (entries.length === 0) return replacement;
  const [key, child] = entries[path[0]! % entries.length]!;
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value)
    ? [...value]
    : { ...value };
  (copy as Record<string, unknown>)[key] = mutate(child, path.slice(1), replacement);
  return copy;
}

Deno.test({
  name: "random and mutated frames never disturb the server or other agents",
  async fn() {
    await using server = await startTestServer();
    const dept = await department(server.services);
    const token = await enrollmentToken(server.services, dept, { uses: 100 });
    const witness = new RawAgent(server.url);
    const w = await witness.enroll(token);
    const victim = await new RawAgent(server.url).enroll(token);
    const bases = seeds(victim.deviceId, victim.secret);

    const frame = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 3 }),
      fc.uint8Array({ maxLength: 64 }),
      fc.constant("x".repeat(LIMITS.textFrame + 1)),
      fc.tuple(
        fc.nat(bases.length - 1),
        fc.array(fc.nat(10), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      )
        .map(([i, path, replacement]) => JSON.stringify(mutate(bases[i], path, replacement))),
      fc.tuple(
        fc.nat(bases.length - 1),
        fc.array(fc.nat(10), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 2 }),
      )
        .map((
          [i, path, replacement],
        ) => [JSON.stringify(bases[0]), JSON.stringify(mutate(bases[i], path, replacement))]),
    );

    let runs = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 5 }), async (frames) => {
        runs++;
        const agent = new RawAgent(server.url);
        await agent.open();
        for (const f of frames.flat()) agent.send(f as string | Uint8Array);
        // A moment for the server to chew on them (or close): frames need not end in an answer.
        let chewing: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([agent.closed, new Promise((r) => chewing = setTimeout(r, 30))]);
        clearTimeout(chewing);
        agent.close();
        await agent.closed;
        // The witness is untouched: still online on the same connection and answered.
        witness.send({ type: "heartbeat" });
        const acks = () => witness.received.filter((m) => m.type === "heartbeat_ack").length;
        const before = acks();
        const answered = await until("the witness's heartbeat_ack", () => acks() > before, {
          intervalMs: 5,
          timeoutMs: 5_000,
        }).then(() => true, () => false);
        if (!answered) return false;
        return server.services.hub.isOnline(w.deviceId) && witness.readyState === WebSocket.OPEN;
      }),
      { numRuns: 150 },
    );
    assert.equal(runs, 150);
    const health = await fetch(`${server.url}/healthz`);
    assert.deepEqual(await health.json(), { status: "ok", database: "ok" });
    witness.close();
  },
});
