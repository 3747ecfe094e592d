// Remote terminal, desktop tunnel and file transfer through the relay, with real agent processes.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FakeClock } from "../lib/clock.ts";
import { authorizedSession, channelSocket } from "./support/channels.ts";
import { textOf } from "./support/client.ts";
import { world } from "./support/world.ts";
import { until } from "./support/wait.ts";

Deno.test({
  name: "terminal round trip: type a command on the device and read its output",
  async fn() {
    await using w = await world();
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const noVnc = `127.0.0.1:${closed.addr.port}`;
    closed.close();
    const { deviceId } = await w.agent("PC-TERM", ["--session-state", "unlocked", "--vnc", noVnc]);
    const devicePage = await textOf(await w.owner.get(`/devices/${deviceId}`));
    assert.match(devicePage, /No VNC server is reachable on the device/);
    const sessionId = await authorizedSession(w.owner, deviceId);
    const term = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal?cols=100&rows=30`,
    );
    await until("the channel to open", () => term.text.some((m) => m.type === "opened"));
    await until("the terminal's info event", () => term.text.some((m) => m.type === "event"));
    const info = term.text.find((m) => m.type === "event")!.event as Record<string, unknown>;
    assert.equal(info.type, "info");
    assert.equal(info.pty, true);
    term.ws.send(new TextEncoder().encode("echo hello-$((6*7))\n"));
    await term.waitFor(/hello-42/);
    term.ws.send(JSON.stringify({ type: "resize", cols: 120, rows: 40 }));
    // The resize is applied on the device a moment later: ask again until it shows.
    await until("the new size", () => {
      term.ws.send(new TextEncoder().encode("stty size\n"));
      return /40 120/.test(term.output());
    }, { intervalMs: 200 });
    term.ws.close();
    await term.closed;
    const audit = await w.server.services.db.selectFrom("audit_log").select(["action", "detail"])
      .where("session_id", "=", sessionId).execute();
    assert.ok(audit.some((a) => a.action === "remote_control.started"));
    await until(
      "remote_control.ended on the record",
      async () =>
        (await w.server.services.db.selectFrom("audit_log").select("action").where(
          "session_id",
          "=",
          sessionId,
        )
          .where("action", "=", "remote_control.ended").execute()).length === 1,
    );
  },
});

/**
 * A deterministic stream of `size` pseudo-random bytes, hashed as it is produced. `stop()` ends
 * it early, as a browser gives up an upload the server has already answered (fetch keeps
 * sending a request body after the response).
 */
function payload(size: number, delayMs = 0) {
  const hash = createHash("sha256");
  let sent = 0;
  let x = 0x9e3779b9;
  let stopped = false;
  let pace: { timer: ReturnType<typeof setTimeout>; wake: () => void } | undefined;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    async pull() {
      if (sent >= size) {
        controller.close();
        return;
      }
      // Paced, so that a test can act while the transfer is under way.
      if (delayMs) {
        await new Promise<void>((wake) => pace = { timer: setTimeout(wake, delayMs), wake });
        pace = undefined;
      }
      if (stopped) return;
      const chunk = new Uint8Array(Math.min(256 * 1024, size - sent));
      for (let i = 0; i < chunk.length; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        chunk[i] = x & 255;
        chunk[i + 1] = (x >>> 8) & 255;
        chunk[i + 2] = (x >>> 16) & 255;
        chunk[i + 3] = (x >>> 24) & 255;
      }
      hash.update(chunk);
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  return {
    stream,
    digest: () => hash.digest("hex"),
    stop() {
      if (stopped) return;
      stopped = true;
      if (pace) {
        clearTimeout(pace.timer);
        pace.wake();
      }
      controller.error(new Error("the upload was stopped"));
    },
  };
}

/** SHA-256 of `size` bytes of {@link payload} without keeping them. */
async function payloadHash(size: number): Promise<string> {
  const p = payload(size);
  for await (const _ of p.stream) { /* hash as it goes */ }
  return p.digest();
}

async function fileHash(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

Deno.test({
  name: "a 100 MiB upload and download arrive with matching SHA-256, and leave no partial file",
  async fn() {
    await using w = await world();
    const uploads = await Deno.makeTempDir({ prefix: "assent-uploads-" });
    try {
      const { deviceId } = await w.agent("PC-FILES", [
        "--session-state",
        "unlocked",
        "--upload-dir",
        uploads,
      ]);
      const sessionId = await authorizedSession(w.owner, deviceId);
      const size = 100 * 1024 * 1024;
      const expected = await payloadHash(size);
      const cookie = [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const body = payload(size);
      const res = await fetch(
        `${w.server.url}/sessions/${sessionId}/files/upload?name=big.bin&size=${size}&sha256=${expected}`,
        {
          method: "POST",
          headers: {
            Cookie: cookie,
            "X-CSRF-Token": w.owner.csrf,
            "Content-Type": "application/octet-stream",
          },
          body: body.stream,
        },
      );
      const result = await res.json();
      assert.equal(res.status, 200, JSON.stringify(result));
      assert.equal(result.sha256, expected);
      assert.equal(await fileHash(`${uploads}/big.bin`), expected);
      assert.deepEqual(
        [...Deno.readDirSync(uploads)].map((e) => e.name),
        ["big.bin"],
        "no partial left",
      );

      const download = await fetch(
        `${w.server.url}/sessions/${sessionId}/files/download?path=${
          encodeURIComponent(`${uploads}/big.bin`)
        }`,
        { headers: { Cookie: cookie } },
      );
      assert.equal(download.status, 200);
      assert.equal(download.headers.get("Content-Length"), String(size));
      assert.match(download.headers.get("Content-Disposition") ?? "", /big\.bin/);
      const hash = createHash("sha256");
      let got = 0;
      for await (const chunk of download.body!) {
        hash.update(chunk);
        got += chunk.length;
      }
      assert.equal(got, size);
      assert.equal(hash.digest("hex"), expected);

      const audit = await w.server.services.db.selectFrom("audit_log").select(["action", "detail"])
        .where("session_id", "=", sessionId).where("action", "like", "file_transfer.%").execute();
      const transfers = () =>
        w.server.services.db.selectFrom("audit_log").select(["action", "outcome", "detail"])
          .where("session_id", "=", sessionId).where("action", "like", "file_transfer.%")
          .execute();
      await until(
        "two completed transfers on the record",
        async () =>
          (await transfers()).filter((a) => a.action === "file_transfer.completed").length === 2,
      ).catch(async (err) => {
        throw new Error(`${err.message}: ${JSON.stringify(await transfers())}`);
      });
      assert.ok(
        audit.some((a) => a.action === "file_transfer.started" && /big\.bin/.test(a.detail!)),
      );
    } finally {
      await Deno.remove(uploads, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "deauthorize in the middle of an upload aborts both sides within a second and removes the partial file",
  async fn() {
    await using w = await world();
    const uploads = await Deno.makeTempDir({ prefix: "assent-uploads-" });
    try {
      const { agent, deviceId } = await w.agent("PC-ABORT", [
        "--session-state",
        "unlocked",
        "--upload-dir",
        uploads,
      ]);
      const sessionId = await authorizedSession(w.owner, deviceId);
      const size = 200 * 1024 * 1024;
      const cookie = [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
      const body = payload(size, 20);
      const upload = fetch(
        `${w.server.url}/sessions/${sessionId}/files/upload?name=slow.bin&size=${size}&sha256=${
          "0".repeat(64)
        }`,
        {
          method: "POST",
          headers: {
            Cookie: cookie,
            "X-CSRF-Token": w.owner.csrf,
            "Content-Type": "application/octet-stream",
          },
          body: body.stream,
        },
      ).then(async (r) => ({ status: r.status, body: await r.json(), at: Date.now() }));
      await until(
        "the partial upload on the device, its channel open on the server",
        () =>
          [...Deno.readDirSync(uploads)].some((e) => e.name.includes(".assent-partial")) &&
          w.server.services.relay.ofSession(sessionId).some((c) => c.state === "open"),
      );
      const since = agent.log.length;
      const t0 = Date.now();
      assert.equal((await w.owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
      const result = await upload;
      body.stop();
      assert.equal(result.status, 409, JSON.stringify(result.body));
      assert.ok(result.at - t0 < 1000, `server side ended in ${result.at - t0} ms`);
      await until(
        "the partial upload removed on the device",
        () => [...Deno.readDirSync(uploads)].length === 0,
        { timeoutMs: 1000 },
      );
      assert.ok(Date.now() - t0 < 1500, "device side removed the partial file within a second");
      await agent.waitForLog(/ended \(deauthorized\)/, { since });
      assert.equal(w.server.services.relay.ofSession(sessionId).length, 0);
      // The channel's end record is written after it closed, not before the agent hears of it.
      const aborted = () =>
        w.server.services.db.selectFrom("audit_log").select("action")
          .where("session_id", "=", sessionId).where("action", "=", "file_transfer.aborted")
          .execute();
      await until("the aborted transfer on the record", async () => (await aborted()).length > 0);
      assert.equal((await aborted()).length, 1);
    } finally {
      await Deno.remove(uploads, { recursive: true });
    }
  },
});

Deno.test({
  name: "expiry (injected clock) closes an open terminal on both sides",
  async fn() {
    const clock = new FakeClock(Date.now());
    await using w = await world({ clock, heartbeatWindowMs: 24 * 3600_000 });
    const { agent, deviceId } = await w.agent("PC-EXPIRE");
    const sessionId = await authorizedSession(w.owner, deviceId);
    const term = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal`,
    );
    term.ws.send(new TextEncoder().encode("echo ready-$((1+1))\n"));
    await term.waitFor(/ready-2/);
    clock.advance(4 * 3600_000);
    const closed = await term.closed;
    assert.equal(closed.code, 4000);
    assert.match(closed.reason, /expired/);
    await agent.waitForLog(/ended \(expired\)/);
  },
});

Deno.test({
  name:
    "channels are refused for an unauthorized session, another technician, an offline device and other origins",
  async fn() {
    await using w = await world();
    const { agent, deviceId } = await w.agent("PC-REFUSE");
    // Not authorized yet.
    await w.owner.get(`/devices/${deviceId}`);
    await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" });
    const html = await (await w.owner.get(`/devices/${deviceId}/panel`)).text();
    const sessionId = html.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)![1]!;
    const page = await w.owner.get(`/sessions/${sessionId}/remote`);
    assert.equal(page.status, 409);
    assert.match(await page.text(), /The support session is not authorized/);
    const refused = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal`,
    );
    const closed = await refused.closed;
    assert.equal(closed.code, 4403);
    assert.equal(closed.reason, "The support session is not authorized");
    assert.equal((await w.owner.get(`/sessions/${sessionId}/files`)).status, 409);

    // Another technician, even in the same department.
    const { createUser, PASSWORD } = await import("./support/accounts.ts");
    await createUser({ services: w.server.services } as never, {
      email: "other@example.com",
      role: "technician",
      departmentIds: [w.departmentId],
    });
    const other = w.client();
    await other.get("/login");
    await other.post("/login", { email: "other@example.com", password: PASSWORD });
    await w.owner.post(`/sessions/${sessionId}/authorize`);
    assert.equal((await other.get(`/sessions/${sessionId}/remote`)).status, 404);
    await assert.rejects(
      channelSocket(w.server.url, other, `/sessions/${sessionId}/channels/terminal`),
    );

    // Another origin (cross-site WebSocket hijacking).
    await assert.rejects(
      channelSocket(w.server.url, w.owner, `/sessions/${sessionId}/channels/terminal`, {
        origin: "https://evil.example",
      }),
    );

    // Offline device.
    agent.kill("SIGKILL");
    await until("the device to go offline", () => !w.server.services.hub.isOnline(deviceId));
    const offline = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal`,
    );
    const c = await offline.closed;
    assert.equal(c.code, 4403);
    assert.equal(c.reason, "Unable to connect to the device");
    const audit = await w.server.services.db.selectFrom("audit_log").select("action")
      .where("session_id", "=", sessionId).where("action", "=", "channel.refused").execute();
    assert.ok(audit.length >= 2, "refusals are audited");
  },
});

Deno.test({
  name: "the agent ends its channels by itself when cut off from the server past the grace period",
  async fn() {
    await using w = await world();
    const { startProxy } = await import("./support/proxy.ts");
    await using proxy = startProxy(w.server.url);
    const { enrollmentToken } = await import("./support/devices.ts");
    const { spawnAgent } = await import("./support/agent.ts");
    await using agent = await spawnAgent({
      server: proxy.url,
      enroll: await enrollmentToken(w.server.services, w.departmentId),
      name: "PC-CUT",
      extraArgs: ["--session-state", "unlocked"],
    });
    await agent.waitForLog(/connected to/);
    let row: { id: string } | undefined;
    await until("the device online through the proxy", async () => {
      row = await w.server.services.db.selectFrom("devices").select("id").where(
        "name",
        "=",
        "PC-CUT",
      )
        .executeTakeFirst();
      return row !== undefined && w.server.services.hub.isOnline(row.id);
    });
    if (!row) throw new Error("unreachable");
    const sessionId = await authorizedSession(w.owner, row.id);
    const term = await channelSocket(
      w.server.url,
      w.owner,
      `/sessions/${sessionId}/channels/terminal`,
    );
    term.ws.send(new TextEncoder().encode("echo pid=$$\n"));
    const out = await term.waitFor(/pid=\d+/);
    const pid = Number(out.match(/pid=(\d+)/)![1]);
    proxy.freeze();
    const t0 = Date.now();
    await agent.waitForLog(/cut off from the server for [\d.]+ s: ended 1 channel/, {
      timeoutMs: 20_000,
    });
    assert.ok(Date.now() - t0 < 12_000);
    await until("the shell to be killed", () => {
      try {
        Deno.kill(pid, "SIGCONT");
        return false;
      } catch {
        return true;
      }
    }, { timeoutMs: 3000 });
    proxy.thaw();
  },
});
