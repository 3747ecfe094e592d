// Admin → Policies: "File transfer may reach", validated with errors tied to the field.
import assert from "node:assert/strict";
import { fileTransferPolicy } from "../core/mod.ts";
import { recentAudit } from "../store/audit.ts";
import { loadPolicies } from "../store/policies.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";

async function reachAudit(t: TestApp) {
  const rows = await recentAudit(t.services.db, 100);
  return rows.filter((r) => r.action === "policy.changed")
    .map((r) => JSON.parse(r.detail ?? "{}") as Record<string, string>)
    .filter((d) => Object.keys(d).some((k) => k.startsWith("fileTransfer")));
}

Deno.test("the file transfer section starts at home folders and the upload folder, and saves folders plainly, audited", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const page = await owner.get(`/settings/${dept}`);
  const html = await page.text();
  assert.match(html, /id="file-transfer-homes" name="userHomes" checked/);
  const text = await textOf(new Response(html));
  assert.ok(text.includes("File transfer may reach"));
  assert.ok(text.includes("The agent's upload folder is always included"));
  assert.ok(text.includes("Terminal and desktop sessions are not limited by this"));

  const res = await owner.post(`/settings/${dept}/file-transfer`, {
    paths: "/srv/shared/\r\n\r\n  d:/Tools  \n/srv/shared",
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), `/settings/${dept}?saved=file-transfer#file-transfer`);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).fileTransfer, {
    userHomes: false,
    paths: ["/srv/shared", "D:\\Tools"],
  });
  assert.deepEqual(await reachAudit(t), [{
    fileTransferUserHomes: "true → false",
    fileTransferPaths: "none → /srv/shared, D:\\Tools",
  }]);
  const again = await (await owner.get(`/settings/${dept}?saved=file-transfer`)).text();
  assert.match(again, /Saved\./);
  assert.match(again, /<textarea[^>]*name="paths"[^>]*>\/srv\/shared\nD:\\Tools<\/textarea>/);
  assert.doesNotMatch(again, /id="file-transfer-homes" name="userHomes" checked/);

  // The same again changes nothing and records nothing.
  await owner.post(`/settings/${dept}/file-transfer`, { paths: "/srv/shared\nD:\\Tools" });
  assert.equal((await reachAudit(t)).length, 1);
});

Deno.test("folders that are not full paths answer 400 with the line and the problem at the field, and save nothing", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await owner.get(`/settings/${dept}`);
  const cases: [string, RegExp][] = [
    ["relative/folder", /Line 1: "relative\/folder" is not an absolute path/],
    ["/srv/ok\n~/Documents", /Line 2: "~\/Documents" is not an absolute path/],
    ["/", /Line 1: "\/" is a whole drive; choose a folder/],
    ["C:\\", /Line 1: "C:\\" is a whole drive/],
    ["/srv/../etc", /Line 1: "\/srv\/..\/etc" contains "." or ".."/],
    ["\\\\?\\C:\\Windows", /is a Windows device path/],
    ["C:\\data\\file.txt:hidden", /contains a colon after the drive letter/],
    ["/tmp/a\u0007b", /contains control characters/],
    [Array.from({ length: 21 }, (_, i) => `/srv/${i}`).join("\n"), /List at most 20 folders/],
    ["/" + "x".repeat(41_000), /The list of folders is too long/],
  ];
  for (const [paths, expected] of cases) {
    const res = await owner.post(`/settings/${dept}/file-transfer`, { userHomes: "on", paths });
    assert.equal(res.status, 400, paths.slice(0, 40));
    const html = await res.text();
    assert.match(await textOf(new Response(html)), expected);
    assert.match(
      html,
      /<textarea[^>]*aria-invalid="true"[^>]*aria-describedby="file-transfer-paths-error/,
    );
    assert.match(html, /id="file-transfer-paths-error" role="alert"/);
  }
  // What was typed comes back to be fixed.
  const res = await owner.post(`/settings/${dept}/file-transfer`, { paths: "/srv/ok\nnope" });
  assert.match(await res.text(), />\/srv\/ok\nnope<\/textarea>/);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).fileTransfer, fileTransferPolicy());
  assert.deepEqual(await reachAudit(t), []);
});

Deno.test("only admins of the department change what file transfer may reach", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [dept] });
  await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [other] });
  const tech = await signIn(t, "tech@example.com");
  await tech.get("/");
  assert.equal((await tech.post(`/settings/${dept}/file-transfer`, { paths: "/" })).status, 403);
  const admin = await signIn(t, "admin@example.com");
  await admin.get(`/settings/${other}`);
  const foreign = await admin.post(`/settings/${dept}/file-transfer`, { paths: "/etc" });
  assert.equal(foreign.status, 404);
  const own = await admin.post(`/settings/${other}/file-transfer`, { paths: "/srv/finance" });
  assert.equal(own.status, 303);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).fileTransfer, fileTransferPolicy());
  assert.deepEqual((await loadPolicies(t.services.db, other)).fileTransfer.paths, ["/srv/finance"]);
});
