import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { engineOf, openDatabase } from "../store/db.ts";
import { updateDepartment } from "../store/departments.ts";
import {
  insertDevice,
  insertGroup,
  renameGroup,
  saveDeviceInfo,
  updateDevice,
} from "../store/devices.ts";
import { findUserByEmail, setUserDepartments, updateUser } from "../store/users.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";
import { statementsRun } from "../tests/support/statements.ts";

async function device(t: TestApp, departmentId: string, name: string) {
  const id = `dev-${name}`;
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken("s"),
    departmentId,
    groupId: null,
    name,
    tokenId: "t",
    now: t.clock.now(),
  });
  await saveDeviceInfo(t.services.db, id, {
    name,
    serialNumber: "SN-" + name,
    os: "Windows 11 Pro",
    osFamily: "windows",
    model: "OptiPlex",
    deviceType: "Desktop",
    ipAddresses: ["192.0.2.1"],
    users: [{ name: "alice", session: "console", locked: false }],
    locked: false,
    loggedOff: false,
    capabilities: ["prompt"],
  }, t.clock.now());
  return id;
}

Deno.test("technicians see only the devices of their departments; others are 404", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const mine = await device(t, sales, "SALES-PC");
  const other = await device(t, lab, "LAB-PC");
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [sales] });
  const tech = await signIn(t, "tech@example.com");
  const list = await textOf(await tech.get("/devices"));
  assert.match(list, /SALES-PC/);
  assert.doesNotMatch(list, /LAB-PC/);
  assert.equal((await tech.get(`/devices/${mine}`)).status, 200);
  for (const path of [`/devices/${other}`, `/devices/${other}/info`, `/devices/${other}/events`]) {
    assert.equal((await tech.get(path)).status, 404, path);
  }
  assert.equal((await tech.post(`/devices/${other}/disable`)).status, 403);
  assert.equal(
    (await tech.post(`/devices/${mine}/disable`)).status,
    403,
    "technicians cannot disable",
  );
});

Deno.test("the device page shows the R1 device information", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "WIN-0859G9I39J0");
  const page = await textOf(await owner.get(`/devices/${id}`));
  for (
    const text of [
      "Name WIN-0859G9I39J0",
      "Serial Number SN-WIN-0859G9I39J0",
      "Date of last activity",
      "Operating system Windows 11 Pro",
      "Model OptiPlex",
      "Device Type Desktop",
      "IP address 192.0.2.1",
      "Logged-in users alice (console)",
      "Offline",
    ]
  ) {
    assert.ok(page.includes(text), `missing "${text}"`);
  }
});

Deno.test("the device list filters, searches and pages, and rejects bad parameters with 400", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  for (let i = 0; i < 55; i++) await device(t, dept, `PC-${String(i).padStart(2, "0")}`);
  const first = await textOf(await owner.get("/devices"));
  assert.match(first, /PC-00/);
  assert.doesNotMatch(first, /PC-50/);
  assert.match(first, /Page 1 of 2 · 55 devices/);
  assert.match(await textOf(await owner.get("/devices?page=2")), /PC-54/);
  const search = await textOf(await owner.get("/devices?q=PC-4"));
  assert.match(search, /PC-40/);
  assert.doesNotMatch(search, /PC-39/);
  assert.match(
    await textOf(await owner.get("/devices?status=online")),
    /No devices match these filters/,
  );
  const bad = await owner.get("/devices?page=zero");
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Page must be a number/);
  assert.equal((await owner.get("/devices?status=sideways")).status, 400);
  const partial = await owner.request("/devices/list", { headers: { "HX-Request": "true" } });
  const html = await partial.text();
  assert.doesNotMatch(html, /<html|<header/, "the list partial has no page around it");
  assert.match(html, /PC-00/);
});

Deno.test("an admin disables and enables a device, and both are audited", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const id = await device(t, dept, "PC");
  await owner.get(`/devices/${id}`);
  assert.equal((await owner.post(`/devices/${id}/disable`)).status, 303);
  assert.match(await textOf(await owner.get(`/devices/${id}`)), /Disabled/);
  assert.equal((await owner.post(`/devices/${id}/enable`)).status, 303);
  const actions = (await t.services.db.selectFrom("audit_log").select("action").execute()).map((
    r,
  ) => r.action);
  assert.ok(actions.includes("device.disabled") && actions.includes("device.enabled"));
});

Deno.test("only an admin of the device's department sets where its receipts go, and a bad address says so", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const id = await device(t, sales, "PC-CONTACT");
  await createUser(t, { email: "labadmin@example.com", role: "admin", departmentIds: [lab] });
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [sales] });
  const contact = async () =>
    (await t.services.db.selectFrom("devices").select("contact_email").where("id", "=", id)
      .executeTakeFirstOrThrow()).contact_email;

  await owner.get(`/devices/${id}`);
  const bad = await owner.post(`/devices/${id}/contact`, { contactEmail: "not an address" });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Enter an email address, like name@example\.com/);
  assert.equal(await contact(), null);

  const labAdmin = await signIn(t, "labadmin@example.com");
  const outside = await labAdmin.post(`/devices/${id}/contact`, { contactEmail: "x@example.com" });
  assert.equal(outside.status, 404);
  const tech = await signIn(t, "tech@example.com");
  const notAdmin = await tech.post(`/devices/${id}/contact`, { contactEmail: "x@example.com" });
  assert.equal(notAdmin.status, 403);
  assert.equal(await contact(), null);

  assert.equal(
    (await owner.post(`/devices/${id}/contact`, { contactEmail: " Carol@Example.com " })).status,
    303,
  );
  assert.equal(await contact(), "carol@example.com");
  assert.match(await textOf(await owner.get(`/devices/${id}`)), /Consent receipts go to/);
  assert.equal((await owner.post(`/devices/${id}/contact`, { contactEmail: "" })).status, 303);
  assert.equal(await contact(), null);
  const changes = await t.services.db.selectFrom("audit_log").select("detail")
    .where("action", "=", "device.contact_changed").execute();
  assert.equal(changes.length, 2);
});

Deno.test("enrollment tokens: created once-visible, listed, revoked; admins only in their departments", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  await owner.get("/admin/enrollment");
  const created = await owner.post("/admin/enrollment", {
    label: "Front office",
    departmentId: sales,
    groupId: "",
    expiresHours: "24",
    maxUses: "5",
  });
  assert.equal(created.status, 200);
  const body = await textOf(created);
  // No packages on this server: the page says so and gives the command for a copy of Assent,
  // never an install line that would fetch nothing.
  assert.match(body, /This server has no agent packages yet/);
  assert.match(
    body,
    /in a copy of Assent \(with Deno\), run: Copy deno task agent agent --server http:\/\/localhost --enroll enr_[A-Za-z0-9_-]{43}/,
  );
  assert.doesNotMatch(body, /install\/agent\.(sh|ps1)/);
  const rows = await t.services.db.selectFrom("enrollment_tokens").selectAll().execute();
  assert.equal(rows.length, 1);
  assert.doesNotMatch(
    body.replace(/enr_\S+/g, ""),
    new RegExp(rows[0]!.token_hash),
    "hash never shown",
  );
  assert.match(await textOf(await owner.get("/admin/enrollment")), /Front office Sales 0 of 5/);
  const bad = await owner.post("/admin/enrollment", {
    label: "",
    departmentId: sales,
    expiresHours: "24",
    maxUses: "5",
  });
  assert.equal(bad.status, 400);
  assert.match(await textOf(bad), /Label is required/);
  const tooMany = await owner.post("/admin/enrollment", {
    label: "x",
    departmentId: sales,
    expiresHours: "24",
    maxUses: "0",
  });
  assert.match(await textOf(tooMany), /Number of uses must be at least 1/);
  assert.equal((await owner.post(`/admin/enrollment/${rows[0]!.id}/revoke`)).status, 303);
  assert.match(await textOf(await owner.get("/admin/enrollment")), /revoked/);

  await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [lab] });
  const admin = await signIn(t, "admin@example.com");
  await admin.get("/admin/enrollment");
  const foreign = await admin.post("/admin/enrollment", {
    label: "x",
    departmentId: sales,
    expiresHours: "24",
    maxUses: "1",
  });
  assert.equal(foreign.status, 403);
  assert.match(await textOf(foreign), /You cannot enroll devices in that department/);
  assert.doesNotMatch(await textOf(await admin.get("/admin/enrollment")), /Front office Sales/);
  const tech = await createUser(t, { email: "tech@example.com", role: "technician" });
  assert.ok(tech && await findUserByEmail(t.services.db, "tech@example.com"));
  assert.equal((await (await signIn(t, "tech@example.com")).get("/admin/enrollment")).status, 403);
});

Deno.test("what a device reports about itself reaches the list as text, never as markup", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`;
  const dept = await department(t.services, `Dept ${hostile}`);
  await device(t, dept, hostile);
  const views: [string, Record<string, string>][] = [
    ["/devices", {}],
    ["/devices/list", { "HX-Request": "true" }],
  ];
  for (const [path, headers] of views) {
    const html = await (await owner.request(path, { headers })).text();
    assert.ok(!html.includes("<script>alert"), `${path}: a script from a device name`);
    assert.ok(!html.includes("<img src=x"), `${path}: an element from a device name`);
    assert.ok(
      html.includes(`&lt;script>alert(&quot;x&quot;)&lt;/script>&lt;img src=x onerror=alert(1)>`),
      `${path}: the name shown as written`,
    );
    assert.ok(html.includes(`Dept &lt;script>`), `${path}: the department shown as written`);
  }
});

Deno.test("names and totals kept between views show a change on the very next view", async () => {
  await using t = await testApp();
  const admin = await setUp(t);
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const db = t.services.db;
  for (let i = 0; i < 50; i++) await device(t, lab, `BULK-${String(i).padStart(2, "0")}`);
  const id = await device(t, sales, "KEPT-PC");
  await insertGroup(db, { id: "g1", department_id: sales, name: "Front desk", created_at: 0 });
  await updateDevice(db, id, { group_id: "g1" }, t.clock.now());
  // The second page holds KEPT-PC; its department column, and the total.
  const view = async () => {
    const text = await textOf(await admin.get("/devices?page=2"));
    return {
      department: text.match(
        /KEPT-PC Windows 11 Pro .*? UTC (.*?) (?:Offline KEPT-PC-2 |← Previous)/,
      )
        ?.[1],
      total: text.match(/(\d+) devices/)?.[1],
    };
  };
  assert.deepEqual(await view(), { department: "Sales / Front desk", total: "51" });
  // The same view again is served from what was kept…
  assert.deepEqual(await view(), { department: "Sales / Front desk", total: "51" });
  // …and each change shows on the very next one.
  await updateDepartment(db, sales, { name: "Sales EMEA" }, t.clock.now());
  assert.equal((await view()).department, "Sales EMEA / Front desk");
  await renameGroup(db, "g1", "Reception");
  assert.equal((await view()).department, "Sales EMEA / Reception");
  await updateDevice(db, id, { department_id: lab, group_id: null }, t.clock.now());
  assert.equal((await view()).department, "Lab");
  await device(t, lab, "KEPT-PC-2");
  assert.equal((await view()).total, "52");
  // A write by another process (the console) moves the mark as well.
  if (engineOf(db) === "sqlite") {
    const other = openDatabase(`${t.dir}/assent.db`);
    try {
      await updateDepartment(other.db, lab, { name: "Lab North" }, t.clock.now());
    } finally {
      await other.close();
    }
    assert.equal((await view()).department, "Lab North");
  }
});

Deno.test("a view of the list with nothing changed since reads only the change mark, once for the session and once for the list", async () => {
  await using t = await testApp();
  if (engineOf(t.services.db) !== "sqlite") return; // PostgreSQL has no mark: it reads each time.
  const admin = await setUp(t);
  const sales = await department(t.services, "Sales");
  await device(t, sales, "KEPT-PC");
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [sales] });
  const tech = await signIn(t, "tech@example.com");
  for (const viewer of [admin, tech]) {
    assert.match(await textOf(await viewer.get("/devices")), /KEPT-PC/);
    const run = await statementsRun(async () => {
      assert.match(await textOf(await viewer.get("/devices")), /KEPT-PC/);
    });
    assert.equal(run.length, 2, run.join("\n"));
    assert.ok(run.every((sql) => sql.includes("pragma_data_version")), run.join("\n"));
  }
  // The technician's departments are kept too, and a change of them shows on the next view.
  const techId = (await findUserByEmail(t.services.db, "tech@example.com"))!.id;
  await setUserDepartments(t.services.db, techId, []);
  assert.doesNotMatch(await textOf(await tech.get("/devices")), /KEPT-PC/);
  await setUserDepartments(t.services.db, techId, [sales]);
  assert.match(await textOf(await tech.get("/devices")), /KEPT-PC/);
});

Deno.test("a kept list page carries each session's own token and shows every change on the very next view", async () => {
  await using t = await testApp();
  await setUp(t);
  const sales = await department(t.services, "Sales");
  await device(t, sales, "KEPT-PC");
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [sales] });
  const techId = (await findUserByEmail(t.services.db, "tech@example.com"))!.id;
  const first = await signIn(t, "tech@example.com");
  const second = await signIn(t, "tech@example.com");
  const page = async (client = first) => await (await client.get("/devices")).text();
  const token = (html: string) => html.match(/name="_csrf" value="([^"]+)"/)?.[1];
  const mine = token(await page());
  assert.ok(mine);
  assert.equal(token(await page()), mine, "the same page again");
  const theirs = token(await page(second));
  assert.ok(theirs && theirs !== mine, "another session of the same user gets its own token");
  assert.equal(token(await page()), mine);
  await updateUser(t.services.db, techId, { name: "Tess Tech" }, t.clock.now());
  assert.match(await page(), /Tess Tech/);
  assert.doesNotMatch(await page(), /Enroll devices/);
  await updateUser(t.services.db, techId, { role: "admin" }, t.clock.now());
  assert.match(await page(), /Enroll devices/);
  t.services.instance.organization = "Other IT";
  assert.match(await page(), /Other IT/);
  assert.match(await page(), /KEPT-PC/);
});

Deno.test("a revoked session is refused on the very next view of the list", async () => {
  await using t = await testApp();
  const admin = await setUp(t);
  assert.equal((await admin.get("/devices")).status, 200);
  await t.services.db.deleteFrom("web_sessions").execute();
  const res = await admin.get("/devices");
  assert.equal(res.status, 303);
  assert.match(res.headers.get("Location") ?? "", /^\/login/);
});

Deno.test("the device list of ASCII names is sent as ASCII, empty cells and pager included", async () => {
  await using t = await testApp();
  const admin = await setUp(t);
  const sales = await department(t.services, "Sales");
  for (let i = 0; i < 51; i++) {
    await insertDevice(t.services.db, {
      id: `bare-${i}`,
      secretHash: hashToken("s"),
      departmentId: sales,
      groupId: null,
      name: `BARE-${String(i).padStart(2, "0")}`,
      tokenId: "t",
      now: t.clock.now(),
    });
  }
  // One character outside ASCII makes the whole page two-byte text, transcoded on every view.
  for (const path of ["/devices", "/devices?page=2"]) {
    const html = await (await admin.get(path)).text();
    assert.match(html, /BARE-/);
    assert.doesNotMatch(html, /[\u0080-\uffff]/, path);
  }
  const text = await textOf(await admin.get("/devices?page=2"));
  assert.match(text, /BARE-50 — — — —/);
  assert.match(text, /← Previous Page 2 of 2 · 51 devices/);
});
