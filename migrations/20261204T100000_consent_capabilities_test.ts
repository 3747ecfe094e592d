import assert from "node:assert/strict";
import { Migrator } from "kysely/migration";
import { openDatabase } from "../store/db.ts";
import { loadSession } from "../store/sessions.ts";
import { migrations } from "./mod.ts";

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
  const { db, close } = openDatabase(":memory:");
  try {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
    });
    assert.equal((await migrator.migrateTo(BEFORE)).error, undefined);
    await db.insertInto("departments").values({
      id: "d-1",
      name: "D",
      created_at: 1,
      updated_at: 1,
    })
      .execute();
    await db.insertInto("users").values({
      id: "u-1",
      email: "ada@example.com",
      name: "Ada",
      role: "technician",
      password_hash: "x",
      password_changed_at: 1,
      created_at: 1,
      updated_at: 1,
    }).execute();
    await db.insertInto("devices").values({
      id: "dev-1",
      secret_hash: "x",
      department_id: "d-1",
      name: "PC",
      enrolled_at: 1,
      updated_at: 1,
    }).execute();
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
  } finally {
    close();
  }
});
