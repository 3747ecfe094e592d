// A desktop channel through a real agent process: the server records its start, end, traffic
// each way and whether it was view only or in control, and holds view only itself, dropping the
// technician's input even from a page that would send it. The VNC server at the device is a
// small recorder of what reaches it.
import assert from "node:assert/strict";
import { setUserDepartments } from "../store/users.ts";
import { PASSWORD } from "./support/accounts.ts";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

const VERSION = [...new TextEncoder().encode("RFB 003.008\n")];
const key = (down: number, sym: number) => [4, down, 0, 0, 0, 0, sym >> 8, sym & 0xff];
const pointer = (x: number, y: number) => [5, 1, x >> 8, x & 0xff, y >> 8, y & 0xff];
const update = [3, 1, 0, 0, 0, 0, 3, 32, 2, 88];

/** A VNC server's stand-in: it greets, and keeps every byte it receives. */
function recordingVncServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const received: number[] = [];
  const served = (async () => {
    for await (const conn of listener) {
      await conn.write(new Uint8Array(VERSION));
      const buffer = new Uint8Array(4096);
      try {
        for (;;) {
          const n = await conn.read(buffer);
          if (n === null) break;
          received.push(...buffer.subarray(0, n));
        }
      } catch {
        // The tunnel went away.
      }
      conn.close();
    }
  })();
  return {
    port: listener.addr.port,
    received,
    async close() {
      listener.close();
      await served.catch(() => {});
    },
  };
}

Deno.test("a desktop's view only is kept by the server, each switch is audited, and its end says how it was used", async () => {
  const vnc = recordingVncServer();
  try {
    await using w = await world();
    const { db } = w.server.services;
    const { deviceId } = await w.agent("PC-DESKTOP", [
      "--session-state",
      "unlocked",
      "--vnc",
      `127.0.0.1:${vnc.port}`,
    ]);
    const sessionId = await authorizedSession(w.owner, deviceId);
    const desktop = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/desktop`,
    );
    await until("the VNC server's greeting", () => desktop.bytes() >= VERSION.length);
    const send = (bytes: number[]) => desktop.ws.send(new Uint8Array(bytes));
    const mode = async (value: string) => {
      const res = await w.owner.post(`/sessions/${sessionId}/channels/desktop/mode`, {
        mode: value,
      });
      await res.body?.cancel();
      return res.status;
    };

    const inControl = [...VERSION, 1, 1, ...update, ...key(1, 0x61), ...pointer(5, 5)];
    send(inControl);
    await until(
      "input in control reaches the device",
      () => vnc.received.length === inControl.length,
    );

    assert.equal(await mode("view_only"), 204);
    // What a page that ignored its own switch would still send: only the update request passes.
    send([...key(1, 0x62), ...pointer(6, 6), ...update, ...key(0, 0x62)]);
    send(update);
    const viewOnly = [...inControl, ...update, ...update];
    await until("the updates reach the device", () => vnc.received.length >= viewOnly.length);

    // A technician of the same department cannot switch a desktop that is not theirs.
    await w.server.services.accounts.createUser(
      { email: "tom@example.com", name: "Tom", role: "technician", password: PASSWORD },
      { kind: "system" },
      (trx, id) => setUserDepartments(trx, id, [w.departmentId]),
    );
    const tom = w.client();
    await tom.get("/login");
    assert.equal(
      (await tom.post("/login", { email: "tom@example.com", password: PASSWORD })).status,
      303,
    );
    await (await tom.get("/")).body?.cancel();
    const foreign = await tom.post(`/sessions/${sessionId}/channels/desktop/mode`, {
      mode: "control",
    });
    await foreign.body?.cancel();
    assert.equal(foreign.status, 404);
    // A burst of the same switch changes the mode once and records it once.
    const burst = await Promise.all(Array.from({ length: 20 }, () => mode("view_only")));
    assert.deepEqual(new Set(burst), new Set([204]));
    assert.equal(await mode("control"), 204);
    send(pointer(7, 7));
    const all = [...viewOnly, ...pointer(7, 7)];
    await until("input reaches the device again", () => vnc.received.length >= all.length);
    assert.deepEqual(vnc.received, all, "no key or pointer of the view-only time reached it");

    assert.equal(await mode("sideways"), 400);
    desktop.ws.close();
    await desktop.closed;
    assert.equal(await mode("view_only"), 409, "no desktop is open any more");

    const rows = () =>
      db.selectFrom("audit_log").select(["action", "detail"]).where("session_id", "=", sessionId)
        .where("action", "like", "remote_control.%").orderBy("seq").execute();
    await until(
      "the end on the record",
      async () => (await rows()).some((r) => r.action === "remote_control.ended"),
    );
    const recorded = (await rows()).map((r) => ({ action: r.action, ...JSON.parse(r.detail!) }));
    assert.deepEqual(recorded.map((r) => [r.action, r.mode]), [
      ["remote_control.started", "control"],
      ["remote_control.mode_changed", "view_only"],
      ["remote_control.mode_changed", "control"],
      ["remote_control.ended", "control"],
    ]);
    const ended = recorded.at(-1)!;
    assert.equal(ended.type, "desktop");
    assert.equal(ended.inputDropped, 3);
    assert.equal(ended.bytesToDevice, all.length);
    assert.ok(ended.bytesFromDevice >= VERSION.length);
    assert.ok(typeof ended.viewOnlyMs === "number" && ended.viewOnlyMs >= 0);
    assert.ok(typeof ended.durationMs === "number");

    const timeline = await (await w.owner.get(`/audit/sessions/${sessionId}`)).text();
    assert.match(
      timeline,
      /View only: the technician(&#x27;|')s keyboard and mouse do not reach the device/,
    );
    assert.match(timeline, /3 input messages held back while view only/);
    assert.match(timeline, /sent to the device/);
    assert.match(timeline, /received from the device/);
  } finally {
    await vnc.close();
  }
});
