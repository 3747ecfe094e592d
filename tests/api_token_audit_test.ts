// Actions taken through the API are on the record as the token's: "API token ‹name› (of ‹owner›)"
// in the audit page, the session timeline and the export, covered by the hash chain; the same
// user's actions in the browser, even at the same moment, are not.
import assert from "node:assert/strict";
import { world } from "./support/world.ts";

Deno.test("API actions name their token in the audit log, timeline and export, and the chain covers it", async () => {
  await using w = await world();
  const { db, apiTokens, auditChain } = w.server.services;
  const owner = await db.selectFrom("users").select(["id", "name"]).executeTakeFirstOrThrow();
  const { token } = await apiTokens.create({
    userId: owner.id,
    name: "ci-pipeline",
    expiresAt: null,
  }, { kind: "system" });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${w.server.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() };
  };

  // The same user, through the API and in the browser, at once.
  await (await w.owner.get("/support")).body?.cancel();
  const results = await Promise.all([
    ...Array.from({ length: 20 }, (_, i) =>
      api("POST", "/api/v1/support-sessions", {
        departmentId: w.departmentId,
        ticket: `API-${i}`,
      }).then((r) => ({ via: "api", status: r.status, id: r.json.supportSession?.id }))),
    ...Array.from({ length: 20 }, (_, i) =>
      w.owner.post("/support", {
        departmentId: w.departmentId,
        ticket: `UI-${i}`,
        expiryMinutes: "1440",
      }).then(async (res) => {
        await res.body?.cancel();
        return {
          via: "ui",
          status: res.status,
          id: res.headers.get("Location")?.match(/^\/support\/([^/]+)$/)?.[1],
        };
      })),
  ]);
  const created = results.filter((r) => r.id);
  assert.ok(created.filter((r) => r.via === "api").length >= 10, JSON.stringify(results));
  assert.ok(created.filter((r) => r.via === "ui").length >= 10, JSON.stringify(results));
  for (const r of created) {
    const rows = await db.selectFrom("audit_log").select(["action", "api_token_name", "actor_id"])
      .where("session_id", "=", r.id!).execute();
    assert.ok(rows.length > 0, `${r.via} ${r.id} is on the record`);
    for (const row of rows) {
      assert.equal(row.actor_id, owner.id);
      assert.equal(
        row.api_token_name,
        r.via === "api" ? "ci-pipeline" : null,
        `${row.action} of a ${r.via} request`,
      );
    }
  }

  // A support session on a device, opened through the API, tells the same on its timeline.
  const { deviceId } = await w.agent("PC-API-TOKEN");
  const opened = await api("POST", `/api/v1/devices/${deviceId}/sessions`, {});
  assert.equal(opened.status, 201);
  const apiSession = opened.json.session.id as string;
  const who = `API token ci-pipeline (of ${owner.name})`;
  const page = await (await w.owner.get(`/audit?session=${apiSession}`)).text();
  assert.ok(page.includes(who), "the audit page names the token");
  const timeline = await (await w.owner.get(`/audit/sessions/${apiSession}`)).text();
  assert.ok(timeline.includes(who), "the session's timeline names the token");
  const csv = await (await w.owner.get(`/audit.csv?session=${apiSession}`)).text();
  assert.ok(csv.includes(who), "the export names the token");
  const uiSession = created.find((r) => r.via === "ui")!.id!;

  const intact = await auditChain.verify();
  assert.equal(intact.intact, true, JSON.stringify(intact));
  // Taking the token off a row, or renaming it, is an edit the chain catches.
  const tokenRow = await db.selectFrom("audit_log").select("seq")
    .where("api_token_name", "=", "ci-pipeline").orderBy("seq").executeTakeFirstOrThrow();
  for (const change of [{ api_token_name: null, api_token_id: null }, { api_token_name: "x" }]) {
    const before = await db.selectFrom("audit_log").select(["api_token_id", "api_token_name"])
      .where("seq", "=", tokenRow.seq).executeTakeFirstOrThrow();
    await db.updateTable("audit_log").set(change).where("seq", "=", tokenRow.seq).execute();
    const report = await auditChain.verify();
    assert.equal(report.intact, false, JSON.stringify(change));
    assert.equal(!report.intact && report.problem.seq, tokenRow.seq);
    assert.equal(!report.intact && report.problem.kind, "edited");
    await db.updateTable("audit_log").set(before).where("seq", "=", tokenRow.seq).execute();
  }
  // And giving a row written in the browser a token is one too.
  const browserRow = await db.selectFrom("audit_log").select("seq")
    .where("session_id", "=", uiSession).orderBy("seq").executeTakeFirstOrThrow();
  await db.updateTable("audit_log").set({ api_token_id: "t", api_token_name: "ci-pipeline" })
    .where("seq", "=", browserRow.seq).execute();
  const forged = await auditChain.verify();
  assert.equal(!forged.intact && forged.problem.seq, browserRow.seq);
});
