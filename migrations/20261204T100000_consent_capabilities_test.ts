import assert from "node:assert/strict";
import { databaseBefore } from "../tests/support/migrations.ts";
import { loadSession } from "../store/sessions.ts";

const BEFORE = "20261203T130000_webhooks";

function row(
  id: string,
  status: Record<string, unknown> & { kind: "authorized" | "unauthorized" },
) {
  return {
    id,
    device_id: "dev-1",
    technician_id: "u-1",
    status: status.kind,
    state: JSON.stringify({
      id,
      deviceId: "dev-1",
      technicianId: "u-1",
      asUser: null,
      openedAt: 1,
      status,
    }),
    wake_at: null,
    dismissed_attempt_id: null,
    opened_at: 1,
    updated_at: 1,
  };
}

Deno.test("authorizations from before per-capability consent keep allowing everything; unknown names are dropped on read", async () => {
  await using legacy = await databaseBefore(BEFORE);
  const { db, migrator } = legacy;
  const attempt = { id: "a", startedAt: 1, technicianName: "Ada", lifetimeMs: 60_000 };
  const authorized = {
    kind: "authorized" as const,
    attemptId: "a",
    authorizedAt: 2,
    expiresAt: 9e15,
  };
  await db.insertInto("support_sessions").values([
    row("s-old", { ...authorized, channels: [], attempt }),
    row("s-new", { ...authorized, channels: [], attempt, capabilities: ["files", "webcam"] }),
    row("s-off", { kind: "unauthorized" }),
  ]).execute();
  assert.equal((await migrator.migrateToLatest()).error, undefined);

  const old = (await loadSession(db, "s-old"))!.session.status;
  assert.deepEqual(old.kind === "authorized" && old.capabilities, [
    "desktop_view",
    "desktop_control",
    "terminal",
    "files",
  ]);
  const fresh = (await loadSession(db, "s-new"))!.session.status;
  assert.deepEqual(fresh.kind === "authorized" && fresh.capabilities, ["files"]);
  const off = (await loadSession(db, "s-off"))!.session.status;
  assert.equal(off.kind, "unauthorized");
  assert.equal("capabilities" in off, false);
});
