// Taking access away takes it away now: with a real server, a real agent process and open remote
// terminals, each way of removing a technician's access closes that technician's terminal at
// once (the console's within its polling delay), leaves the session unauthorized, tells the
// agent, and says why in the audit log, while other technicians' terminals stay open.
import assert from "node:assert/strict";
import { REVOCATION_POLL_MS } from "../services/revocations.ts";
import { PASSWORD } from "./support/accounts.ts";
import { authorizedSession, type ChannelSocket, channelSocket } from "./support/channels.ts";
import { department } from "./support/devices.ts";
import { type World, world } from "./support/world.ts";
import type { TestServer } from "./support/server.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** A technician of the world's department with an authorized session and an open terminal. */
async function technicianWithTerminal(w: World, deviceId: string, name: string) {
  const email = `${name}@example.com`;
  await w.owner.get("/admin/users/new");
  const created = await w.owner.post("/admin/users", {
    name,
    email,
    role: "technician",
    password: PASSWORD,
    departmentIds: w.departmentId,
  });
  assert.equal(created.status, 303);
  const client = w.client();
  await client.get("/login");
  assert.equal((await client.post("/login", { email, password: PASSWORD })).status, 303);
  const sessionId = await authorizedSession(client, deviceId);
  const term = await channelSocket(
    w.server.url,
    client,
    `/sessions/${sessionId}/channels/terminal?cols=80&rows=24`,
  );
  term.ws.send(new TextEncoder().encode(`echo ready-${name}\n`));
  await term.waitFor(new RegExp(`ready-${name}`));
  const row = await w.server.services.db.selectFrom("users").select("id")
    .where("email", "=", email).executeTakeFirstOrThrow();
  return { client, sessionId, term, userId: row.id, email };
}

/** Resolves with how long the socket took to close, or rejects after `withinMs`. */
async function closesWithin(term: ChannelSocket, withinMs: number): Promise<number> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`terminal still open after ${withinMs} ms`)),
      withinMs,
    );
  });
  try {
    await Promise.race([term.closed, timeout]);
  } finally {
    clearTimeout(timer);
  }
  return performance.now() - started;
}

async function assertRevoked(w: World, sessionId: string, cause: string) {
  const stored = await w.server.services.sessions.get(sessionId);
  const status = stored?.session.status;
  assert.equal(status?.kind, "unauthorized");
  assert.equal(status?.kind === "unauthorized" && status.last?.outcome, "access_revoked");
  const rows = await w.server.services.db.selectFrom("audit_log").select(["outcome", "detail"])
    .where("session_id", "=", sessionId).where("action", "=", "authorization.deauthorized")
    .execute();
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.outcome, "access_revoked");
  assert.equal(JSON.parse(rows[0]!.detail ?? "{}").cause, cause);
}

async function consoleResetPassword(server: TestServer, email: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--cached-only",
      "main.ts",
      "admin",
      "user",
      "reset-password",
      "--email",
      email,
      "--data-dir",
      server.dataDir,
    ],
    cwd: ROOT,
    // The console opens the server's own database, which is PostgreSQL in that test pass.
    env: {
      NO_COLOR: "1",
      ...(server.database ? { ASSENT_DATABASE_URL: server.database } : {}),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
}

Deno.test("disabling, moving, resetting password or MFA, disabling the device or the department each end a live terminal at once", async () => {
  await using w = await world();
  const { agent, deviceId } = await w.agent("PC-REVOKE");
  const disabled = await technicianWithTerminal(w, deviceId, "dora");
  const moved = await technicianWithTerminal(w, deviceId, "milo");
  const reset = await technicianWithTerminal(w, deviceId, "rita");
  const mfa = await technicianWithTerminal(w, deviceId, "mona");
  const last = await technicianWithTerminal(w, deviceId, "dean");
  const second = await w.agent("PC-REVOKE-2");
  const onSecond = await technicianWithTerminal(w, second.deviceId, "vera");
  const others = () =>
    [disabled, moved, reset, mfa, last].filter((t) => t.term.ws.readyState === 1);

  // Disabled by an admin on the web.
  await w.owner.get(`/admin/users/${disabled.userId}`);
  assert.equal((await w.owner.post(`/admin/users/${disabled.userId}/disable`)).status, 303);
  await closesWithin(disabled.term, 1000);
  await assertRevoked(w, disabled.sessionId, "user_disabled");
  await agent.waitForLog(new RegExp(`${disabled.sessionId} ended \\(access_revoked\\)`));
  assert.equal(others().length, 4, "the other technicians' terminals stay open");

  // Moved out of the device's department.
  const elsewhere = await department(w.server.services, "Elsewhere");
  await w.owner.get(`/admin/users/${moved.userId}`);
  const move = await w.owner.post(`/admin/users/${moved.userId}`, {
    name: "milo",
    email: moved.email,
    role: "technician",
    departmentIds: elsewhere,
  });
  assert.equal(move.status, 303);
  await closesWithin(moved.term, 1000);
  await assertRevoked(w, moved.sessionId, "removed_from_department");
  assert.equal(others().length, 3);

  // Password reset from the console, another process on the same database file.
  await consoleResetPassword(w.server, reset.email);
  await closesWithin(reset.term, REVOCATION_POLL_MS + 1000);
  await assertRevoked(w, reset.sessionId, "password_reset");
  assert.equal((await reset.client.get("/")).status, 303, "their web sign-in ended too");
  assert.equal(others().length, 2);

  // MFA reset by an admin on the web.
  await w.owner.get(`/admin/users/${mfa.userId}`);
  assert.equal((await w.owner.post(`/admin/users/${mfa.userId}/reset-mfa`)).status, 303);
  await closesWithin(mfa.term, 1000);
  await assertRevoked(w, mfa.sessionId, "mfa_reset");
  assert.equal((await mfa.client.get("/")).status, 303, "their web sign-in ended too");
  assert.equal(others().length, 1);

  // A device disabled: its sessions end before its connection is cut.
  await w.owner.get(`/devices/${second.deviceId}`);
  assert.equal((await w.owner.post(`/devices/${second.deviceId}/disable`)).status, 303);
  await closesWithin(onSecond.term, 1000);
  await assertRevoked(w, onSecond.sessionId, "device_disabled");
  // The agent is cut off right after; its side of the channel was closed first.
  await second.agent.waitForLog(
    /closed by the server \(Your access to this device was withdrawn\)/,
  );
  assert.equal(others().length, 1, "a device's sessions end, not those of other devices");

  // The whole department disabled.
  await w.owner.get(`/admin/departments/${w.departmentId}`);
  assert.equal((await w.owner.post(`/admin/departments/${w.departmentId}/disable`)).status, 303);
  await closesWithin(last.term, 1000);
  await assertRevoked(w, last.sessionId, "department_disabled");
});
