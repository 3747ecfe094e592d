// The restore drill: a backup taken from a live server while an agent is connected and decisions
// are being written, restored into a fresh data directory, serves the same people and devices.
import assert from "node:assert/strict";
import { join } from "node:path";
import { runAdmin } from "../cli/admin.ts";
import { openDataDir } from "../main.ts";
import { totpCode } from "../lib/totp.ts";
import { openDatabase } from "../store/db.ts";
import { PASSWORD } from "./support/accounts.ts";
import { spawnAgent } from "./support/agent.ts";
import { Client, httpTransport } from "./support/client.ts";
import { spawnServer } from "./support/server_process.ts";
import { until } from "./support/wait.ts";
import { sqliteOnly } from "./support/database.ts";

async function admin(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdmin(args, openDataDir, {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

interface AuditRow {
  id: number;
  at: number;
  action: string;
  outcome: string | null;
  actor_id: string | null;
  session_id: string | null;
  detail: string | null;
}

async function auditRows(dataDir: string): Promise<AuditRow[]> {
  const database = openDatabase(join(dataDir, "assent.db"));
  try {
    return await database.db.selectFrom("audit_log")
      .select(["id", "at", "action", "outcome", "actor_id", "session_id", "detail"])
      .orderBy("id").execute();
  } finally {
    await database.close();
  }
}

async function signInWithTotp(url: string, secret: string, offsetMs: number) {
  const client = new Client(httpTransport(url));
  await client.get("/login");
  const res = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  assert.equal(res.status, 303);
  assert.match(res.headers.get("Location") ?? "", /^\/login\/mfa/);
  await client.get("/login/mfa");
  const mfa = await client.post("/login/mfa", { code: totpCode(secret, Date.now() + offsetMs) });
  assert.equal(mfa.status, 303, "the TOTP code from the restored secret is accepted");
  return client;
}

Deno.test(
  sqliteOnly(
    "a backup of a live server restores into a fresh directory: sign-in with TOTP, the device reconnects, the audit log is whole",
    "backups copy the SQLite file; PostgreSQL is backed up with pg_dump",
  ),
  async () => {
    const root = await Deno.makeTempDir({ prefix: "assent-drill-" });
    const live = join(root, "live");
    const fresh = join(root, "fresh");
    const archive = join(root, "drill.tar.gz");
    try {
      const first = await spawnServer({ dataDir: live });
      const port = Number(new URL(first.url).port);
      await using owner = new Client(httpTransport(first.url));
      await owner.get("/setup");
      assert.equal(
        (await owner.post("/setup", {
          organizationName: "Example IT",
          name: "Olive Owner",
          email: "owner@example.com",
          password: PASSWORD,
          passwordRepeat: PASSWORD,
        })).status,
        303,
      );
      const enrol = await (await owner.get("/account/mfa")).text();
      const secret = enrol.match(/id="totp-secret">([^<]+)</)?.[1]?.replace(/\s/g, "");
      assert.ok(secret);
      const confirmed = await owner.post("/account/mfa/confirm", {
        code: totpCode(secret, Date.now()),
      });
      assert.equal(confirmed.status, 200);

      // The console works beside the running server.
      assert.equal(
        (await admin(["department", "create", "--name", "Helpdesk", "--data-dir", live]))
          .code,
        0,
      );
      const token = await admin([
        "enroll-token",
        "create",
        "--department",
        "Helpdesk",
        "--data-dir",
        live,
      ]);
      const enrollToken = token.out.match(/^(enr_\S+)$/m)?.[1];
      assert.ok(enrollToken, token.out);
      await using agent = await spawnAgent({
        server: first.url,
        enroll: enrollToken,
        name: "PC-DRILL",
        extraArgs: ["--session-state", "unlocked"],
      });
      await agent.waitForLog(/connected to/);
      const devices = await (await owner.get("/devices")).text();
      const deviceId = devices.match(/\/devices\/([A-Za-z0-9_-]{10,})/)?.[1];
      assert.ok(deviceId, "the device is listed");

      // Decisions keep being written while the backup is taken.
      let writing = true;
      let rounds = 0;
      const writer = (async () => {
        while (writing) {
          await owner.get(`/devices/${deviceId}`);
          assert.equal(
            (await owner.post(`/devices/${deviceId}/sessions`, { asUser: "" })).status,
            303,
          );
          const panel: string = await (await owner.get(`/devices/${deviceId}/panel`)).text();
          const sessionId: string | undefined = panel.match(
            /\/sessions\/([A-Za-z0-9_-]+)\/(authorize|close)/,
          )?.[1];
          assert.ok(sessionId, "the panel links the session");
          assert.equal((await owner.post(`/sessions/${sessionId}/authorize`)).status, 303);
          await owner.get(`/devices/${deviceId}`);
          assert.equal((await owner.post(`/sessions/${sessionId}/deauthorize`)).status, 303);
          rounds++;
        }
      })();
      await until("decisions being written", () => rounds >= 2);
      const backup = await admin(["backup", archive, "--data-dir", live]);
      assert.equal(backup.code, 0, backup.err);
      assert.match(backup.out, /Backup written to .*drill\.tar\.gz/);
      const roundsAtBackup = rounds;
      await until("decisions after the backup", () => rounds >= roundsAtBackup + 2);
      writing = false;
      await writer;

      // The running server's data cannot be restored over.
      const refused = await admin(["restore", archive, "--data-dir", live, "--replace"]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /is in use by assent serve \(pid \d+\); stop the server/);

      first.kill("SIGTERM");
      assert.equal((await first.status).code, 0);
      const original = await auditRows(live);
      const since = agent.log.length;

      const restored = await admin(["restore", archive, "--data-dir", fresh]);
      assert.equal(restored.code, 0, restored.err);
      const backedUp = await auditRows(fresh);
      const last = backedUp.at(-1)!.id;
      // Whole: every row up to the snapshot, unchanged and without gaps; a prefix of the original.
      assert.deepEqual(backedUp, original.filter((r) => r.id <= last));
      assert.deepEqual(backedUp.map((r) => r.id), backedUp.map((_, i) => i + 1));
      assert.ok(last < original.at(-1)!.id, "rows written after the snapshot are not in it");
      const granted = backedUp.filter((r) => r.action === "authorization.granted").length;
      assert.ok(granted >= 2, `decisions are in the backup (${granted})`);

      // A minute later, so the TOTP step used at enrolment is not a replay.
      await using second = await spawnServer({ dataDir: fresh, port, clockOffsetMs: 60_000 });
      await agent.waitForLog(/connected to/, { since, timeoutMs: 20_000 });
      await using client = await signInWithTotp(second.url, secret, 60_000);
      await until("the device online on the restored server", async () => {
        const page = await (await client.get(`/devices/${deviceId}`)).text();
        return /PC-DRILL/.test(page) && /Online/i.test(page);
      });
      const after = await auditRows(fresh);
      assert.deepEqual(after.filter((r) => r.id <= last), backedUp);
      assert.ok(
        after.some((r) => r.id > last && r.action === "device.online"),
        "the device re-authenticated with its credential and key",
      );
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
