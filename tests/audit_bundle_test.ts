/**
 * The signed audit bundle: a super admin downloads it, and a small standalone script, run as
 * its own process with the public key Admin shows, verifies it offline; any edit, a cut or
 * another key fails. Only super admins may download it; checkpoints are signed on the
 * scheduler by the injected clock.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { listCheckpoints } from "../store/audit.ts";
import { appendAudit } from "../store/audit.ts";
import { department } from "./support/devices.ts";
import { createUser, setUp, signIn } from "./support/accounts.ts";
import { testApp } from "./support/app.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function verifyScript(bundle: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--cached-only",
      "scripts/verify_audit_bundle.ts",
      bundle,
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
}

function shownKey(html: string): string {
  const m = /id="audit-public-key">([A-Za-z0-9_-]{43})</.exec(html);
  assert.ok(m, "the integrity page shows the public key");
  return m[1]!;
}

Deno.test("a downloaded bundle verifies offline with the key Admin shows, and fails once touched", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await department(t.services, "Front office");
  await t.services.auditChain.checkpoint();
  await appendAudit(t.services.db, {
    at: t.clock.now(),
    action: "user.login_failed",
    actor: { kind: "user", label: "mallory@example.com" },
    detail: { reason: "wrong password" },
  });
  // A row written through an API token (the v2 row form) verifies offline too.
  await appendAudit(t.services.db, {
    at: t.clock.now(),
    action: "support_code.created",
    actor: { kind: "technician", id: "u-api", label: "Ada" },
    apiToken: { id: "tok-1", name: "ci-pipeline" },
  });

  const page = await owner.get("/admin/audit");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.match(html, /Chain intact/);
  const key = shownKey(html);

  const res = await owner.get("/admin/audit/bundle.jsonl");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-disposition") ?? "", /attachment; filename="assent-audit-/);
  const text = await res.text();
  const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines[0].type, "header");
  assert.equal(lines[0].publicKey, key);
  assert.ok(lines.some((l) => l.type === "checkpoint"), "the checkpoint is in the bundle");
  assert.ok(lines.some((l) => l.type === "row" && l.action === "audit.exported"));
  assert.equal(lines.at(-1).type, "end");

  const dir = t.dir;
  const write = async (name: string, content: string) => {
    const path = join(dir, name);
    await Deno.writeTextFile(path, content);
    return path;
  };
  const good = await verifyScript(await write("good.jsonl", text), "--public-key", key);
  assert.equal(good.code, 0, good.stdout);
  assert.match(good.stdout, /^VERIFIED: \d+ rows, 1 checkpoints/);

  const edited = text.replace("wrong password", "right password");
  assert.notEqual(edited, text);
  const bad = await verifyScript(await write("edited.jsonl", edited), "--public-key", key);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /NOT VERIFIED: row \d+ was changed/);
  assert.ok(lines.some((l) => l.type === "row" && l.api_token_name === "ci-pipeline"));
  const renamed = text.replace('"api_token_name":"ci-pipeline"', '"api_token_name":"other"');
  assert.notEqual(renamed, text);
  const untokened = await verifyScript(await write("renamed.jsonl", renamed), "--public-key", key);
  assert.equal(untokened.code, 1);
  assert.match(untokened.stdout, /NOT VERIFIED: row \d+ was changed/);

  // The last row cut out, the signed end kept.
  const rows = text.trimEnd().split("\n");
  const lastRow = rows.findLastIndex((l) => JSON.parse(l).type === "row");
  const cut = rows.filter((_, i) => i !== lastRow).join("\n") + "\n";
  const short = await verifyScript(await write("cut.jsonl", cut), "--public-key", key);
  assert.equal(short.code, 1);
  assert.match(short.stdout, /NOT VERIFIED: the signed end names row/);

  const noEnd = rows.slice(0, -1).join("\n") + "\n";
  const open = await verifyScript(await write("noend.jsonl", noEnd), "--public-key", key);
  assert.equal(open.code, 1);
  assert.match(open.stdout, /cut short/);

  const other = await verifyScript(
    await write("again.jsonl", text),
    "--public-key",
    "A".repeat(43),
  );
  assert.equal(other.code, 1);
  assert.match(other.stdout, /another public key/);
});

Deno.test("only super admins download the bundle; admins see the status and key, technicians neither", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  await createUser(t, {
    email: "ada@example.com",
    name: "Ada",
    role: "admin",
    departmentIds: [sales],
  });
  await createUser(t, {
    email: "tom@example.com",
    name: "Tom",
    role: "technician",
    departmentIds: [sales],
  });
  const ada = await signIn(t, "ada@example.com");
  const page = await ada.get("/admin/audit");
  assert.equal(page.status, 200);
  const html = await page.text();
  shownKey(html);
  assert.doesNotMatch(html, /bundle\.jsonl/);
  assert.equal((await ada.get("/admin/audit/bundle.jsonl")).status, 403);
  const tom = await signIn(t, "tom@example.com");
  assert.equal((await tom.get("/admin/audit")).status, 403);
  assert.equal((await tom.get("/admin/audit/bundle.jsonl")).status, 403);
  const exported = await t.services.db.selectFrom("audit_log").select("id")
    .where("action", "=", "audit.exported").execute();
  assert.equal(exported.length, 0, "a refused download records no export");
});

Deno.test("at start a due checkpoint is signed without walking the chain; the first look walks it", async () => {
  await using t = await testApp();
  const { scheduler, db, clock, auditChain } = t.services;
  await appendAudit(db, { at: clock.now(), action: "user.login", actor: { kind: "user" } });
  t.clock.advance(60 * 60_000);
  await scheduler.start();
  try {
    assert.equal((await listCheckpoints(db)).length, 1, "the due checkpoint is signed at start");
    assert.equal(auditChain.status, null, "the start did not wait for a walk of the whole log");
    const walked = await auditChain.recentStatus();
    assert.deepEqual([walked.intact, walked.rows], [true, 1]);
  } finally {
    scheduler.stop();
  }
});

Deno.test("the scheduler signs a checkpoint ten minutes after new events, by the injected clock", async () => {
  await using t = await testApp();
  const { scheduler, db, clock } = t.services;
  await appendAudit(db, { at: clock.now(), action: "user.login", actor: { kind: "user" } });
  await scheduler.start();
  try {
    for (let minute = 1; minute <= 9; minute++) {
      t.clock.advance(60_000);
      await scheduler.settled();
    }
    assert.equal((await listCheckpoints(db)).length, 0, "not yet at nine minutes");
    t.clock.advance(60_000);
    await scheduler.settled();
    const [first] = await listCheckpoints(db);
    assert.equal(first?.seq, 1);
    // Nothing new: no more checkpoints however long it stays quiet.
    for (let minute = 1; minute <= 30; minute++) {
      t.clock.advance(60_000);
      await scheduler.settled();
    }
    assert.equal((await listCheckpoints(db)).length, 1);
    // A thousand new events are signed at the next minute, without waiting ten.
    for (let i = 0; i < 1000; i++) {
      await appendAudit(db, { at: clock.now(), action: "user.login", actor: { kind: "user" } });
    }
    t.clock.advance(60_000);
    await scheduler.settled();
    const all = await listCheckpoints(db);
    assert.equal(all.length, 2);
    assert.equal(all[1]!.seq, 1001);
    assert.equal(t.services.auditChain.status?.intact, true);
  } finally {
    scheduler.stop();
  }
});
