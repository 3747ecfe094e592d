import assert from "node:assert/strict";
import {
  authorizationPolicy,
  confirmationPolicy,
  DEFAULT_CONFIRMATION_MESSAGE,
  fileTransferPolicy,
  recordingPolicy,
  SECURE_CONNECT_NEEDS_OWN_MFA,
  SECURE_CONNECT_SUPER_ADMIN_ONLY,
  secureConnectPolicy,
  SETUP_MFA,
} from "../core/mod.ts";
import { newId } from "../lib/tokens.ts";
import type { Services } from "../services/mod.ts";
import { recentAudit } from "../store/audit.ts";
import { insertDevice, insertGroup } from "../store/devices.ts";
import { addExclusion, listExclusions, loadPolicies } from "../store/policies.ts";
import { createUser, enrolTotp, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";

async function device(
  services: Services,
  departmentId: string,
  info: { name: string; os?: string; ips?: string[] },
): Promise<string> {
  const id = newId();
  const now = services.clock.now();
  await insertDevice(services.db, {
    id,
    secretHash: "x",
    departmentId,
    groupId: null,
    name: info.name,
    tokenId: "t",
    now,
  });
  await services.db.updateTable("devices")
    .set({ os: info.os ?? null, ip_addresses: JSON.stringify(info.ips ?? []) })
    .where("id", "=", id).execute();
  return id;
}

async function group(services: Services, departmentId: string, name: string): Promise<string> {
  const id = newId();
  await insertGroup(services.db, {
    id,
    department_id: departmentId,
    name,
    created_at: services.clock.now(),
  });
  return id;
}

/** Policy audit events, oldest first, with their detail parsed. */
async function policyAudit(t: TestApp) {
  const rows = await recentAudit(t.services.db, 500);
  return rows.reverse()
    .filter((r) => r.action.startsWith("policy.") || r.action.startsWith("secure_connect."))
    .map((r) => ({ ...r, detail: r.detail ? JSON.parse(r.detail) : null }));
}

function checked(html: string, id: string): boolean {
  const tag = html.match(new RegExp(`<input[^>]*id="${id}"[^>]*>`))?.[0];
  if (!tag) throw new Error(`no input #${id}`);
  return /\schecked(\s|=|\/|>)/.test(tag);
}

const DEFAULTS = {
  confirmation: confirmationPolicy(),
  secureConnect: secureConnectPolicy(),
  authorization: authorizationPolicy(),
  fileTransfer: fileTransferPolicy(),
  recording: recordingPolicy(),
};

Deno.test("the settings page shows the defaults: everything off, 60 seconds, 240 minutes", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services, "Helpdesk");
  const list = await owner.get("/settings");
  assert.equal(list.status, 200);
  assert.match(await textOf(list), /Helpdesk Off Off 240 minutes/);
  const res = await owner.get(`/settings/${dept}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
  const html = await res.text();
  assert.match(html, /name="timeoutSeconds" type="number" value="60"/);
  assert.match(html, /name="lifetimeMinutes" type="number" value="240"/);
  assert.match(html, /name="reauthenticationMinutes" type="number" value="30"/);
  for (const id of ["confirmation-enabled", "confirmation-locked", "secure-connect-enabled"]) {
    assert.equal(checked(html, id), false, id);
  }
  const text = await textOf(new Response(html));
  for (
    const label of [
      "Show confirmation at the remote end",
      "Confirmation Message",
      "Timeout (in seconds)",
      "Show confirmation in locked and logged off devices",
      "Exclude Devices",
      "Authenticate before connecting to unattended devices",
      "Reauthentication Time",
      "4 hours by default; when it ends, the session is deauthorized",
    ]
  ) assert.ok(text.includes(label), label);
  assert.ok(text.includes(DEFAULT_CONFIRMATION_MESSAGE));
});

Deno.test("saving Session Confirmation persists and audits each changed field from → to", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await owner.get(`/settings/${dept}`);
  const res = await owner.post(`/settings/${dept}/confirmation`, {
    enabled: "on",
    message: "Your IT team would like to connect",
    timeoutSeconds: "120",
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), `/settings/${dept}?saved=confirmation#confirmation`);
  const saved = await loadPolicies(t.services.db, dept);
  assert.equal(saved.confirmation.enabled, true);
  assert.equal(saved.confirmation.timeoutSeconds, 120);
  assert.equal(saved.confirmation.message, "Your IT team would like to connect");
  assert.equal(saved.confirmation.showOnLockedAndLoggedOff, false);
  assert.deepEqual(saved.authorization, DEFAULTS.authorization);
  const [event, ...rest] = await policyAudit(t);
  assert.equal(rest.length, 0);
  assert.equal(event!.action, "policy.changed");
  assert.equal(event!.department_id, dept);
  assert.equal(event!.actor_kind, "user");
  assert.equal(event!.actor_label, "owner@example.com");
  assert.deepEqual(event!.detail, {
    enabled: "false → true",
    message: `${DEFAULT_CONFIRMATION_MESSAGE} → Your IT team would like to connect`,
    timeoutSeconds: "60 → 120",
  });

  const page = await owner.get(`/settings/${dept}?saved=confirmation`);
  const html = await page.text();
  assert.match(html, /Saved\./);
  assert.equal(checked(html, "confirmation-enabled"), true);
  assert.match(html, /name="timeoutSeconds" type="number" value="120"/);

  // Saving the same values again changes nothing, so nothing is written to the audit log.
  const again = await owner.post(`/settings/${dept}/confirmation`, {
    enabled: "on",
    message: "Your IT team would like to connect",
    timeoutSeconds: "120",
  });
  assert.equal(again.status, 303);
  assert.equal((await policyAudit(t)).length, 1);
});

Deno.test("saving the authorization lifetime persists and is audited", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await owner.get(`/settings/${dept}`);
  const res = await owner.post(`/settings/${dept}/authorization`, { lifetimeMinutes: "480" });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), `/settings/${dept}?saved=authorization#authorization`);
  const saved = await loadPolicies(t.services.db, dept);
  assert.equal(saved.authorization.lifetimeMinutes, 480);
  assert.deepEqual(saved.confirmation, DEFAULTS.confirmation);
  const events = await policyAudit(t);
  assert.deepEqual(events.map((e) => [e.action, e.detail]), [
    ["policy.changed", { lifetimeMinutes: "240 → 480" }],
  ]);
  assert.match(await (await owner.get(`/settings/${dept}`)).text(), /value="480"/);
});

Deno.test("invalid values answer 400 with a plain message and save nothing", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await owner.get(`/settings/${dept}`);
  const message = "Hello";
  const cases: [string, Record<string, string>, RegExp][] = [
    [
      "confirmation",
      { enabled: "on", message, timeoutSeconds: "0" },
      /Timeout \(in seconds\) must be a whole number from 5 to 3600/,
    ],
    [
      "confirmation",
      { enabled: "on", message, timeoutSeconds: "4000" },
      /Timeout \(in seconds\) must be a whole number from 5 to 3600/,
    ],
    [
      "confirmation",
      { enabled: "on", message, timeoutSeconds: "abc" },
      /Timeout \(in seconds\) must be a whole number from 5 to 3600/,
    ],
    [
      "confirmation",
      { enabled: "on", message, timeoutSeconds: "" },
      /Timeout \(in seconds\) is required/,
    ],
    [
      "confirmation",
      { enabled: "on", message: "   ", timeoutSeconds: "60" },
      /Confirmation Message is required/,
    ],
    [
      "confirmation",
      { enabled: "on", message: "x".repeat(1001), timeoutSeconds: "60" },
      /Confirmation Message must be at most 1000 characters/,
    ],
    [
      "authorization",
      { lifetimeMinutes: "0" },
      /Authorization lifetime \(in minutes\) must be a whole number from 1 to 10080/,
    ],
    [
      "authorization",
      { lifetimeMinutes: "2.5" },
      /Authorization lifetime \(in minutes\) must be a whole number from 1 to 10080/,
    ],
    [
      "secure-connect",
      { reauthenticationMinutes: "2000" },
      /Reauthentication Time must be a whole number from 0 to 1440/,
    ],
  ];
  for (const [section, fields, expected] of cases) {
    const res = await owner.post(`/settings/${dept}/${section}`, fields);
    assert.equal(res.status, 400, `${section} ${JSON.stringify(fields).slice(0, 80)}`);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.match(html, /role="alert"/);
    assert.match(await textOf(new Response(html)), expected);
  }
  // The refused value is shown again, so the admin sees what to correct.
  const again = await owner.post(`/settings/${dept}/confirmation`, {
    message,
    timeoutSeconds: "4000",
  });
  assert.match(await again.text(), /name="timeoutSeconds" type="number" value="4000"/);
  assert.deepEqual(await loadPolicies(t.services.db, dept), DEFAULTS);
  assert.deepEqual(await policyAudit(t), []);
});

Deno.test("exclusions are added and removed with OS, IP and who excluded them", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [dept] });
  const pc = await device(t.services, dept, {
    name: "WIN-0859G9I39J0",
    os: "Windows 11 Pro",
    ips: ["10.0.0.5", "fe80::1"],
  });
  const qa = await group(t.services, dept, "QA Team");
  const admin = await signIn(t, "admin@example.com");
  const before = await admin.get(`/settings/${dept}`);
  const html = await before.text();
  assert.match(html, new RegExp(`<option value="device:${pc}">WIN-0859G9I39J0 \\(10.0.0.5\\)`));
  assert.match(html, new RegExp(`<option value="group:${qa}">QA Team</option>`));

  for (const target of [`device:${pc}`, `group:${qa}`]) {
    const res = await admin.post(`/settings/${dept}/exclusions`, {
      policy: "confirmation",
      target,
    });
    assert.equal(res.status, 303, target);
    assert.equal(
      res.headers.get("Location"),
      `/settings/${dept}?saved=confirmation-exclusions#confirmation-exclusions`,
    );
  }
  const policies = await loadPolicies(t.services.db, dept);
  assert.deepEqual(policies.confirmation.excludedDeviceIds, [pc]);
  assert.deepEqual(policies.confirmation.excludedGroupIds, [qa]);
  assert.deepEqual(policies.secureConnect.excludedDeviceIds, []);

  const page = await textOf(await admin.get(`/settings/${dept}`));
  assert.match(page, /Device\/Group Name OS IP Address Excluded by/);
  assert.match(
    page,
    /WIN-0859G9I39J0 Windows 11 Pro 10\.0\.0\.5, fe80::1 admin@example\.com Remove/,
  );
  assert.match(page, /QA Team \(group\) - - admin@example\.com Remove/);

  const duplicate = await admin.post(`/settings/${dept}/exclusions`, {
    policy: "confirmation",
    target: `group:${qa}`,
  });
  assert.equal(duplicate.status, 400);
  assert.match(await textOf(duplicate), /"QA Team" is already excluded/);

  const [first] = await listExclusions(t.services.db, dept);
  const removed = await admin.post(`/settings/${dept}/exclusions/${first!.id}/remove`);
  assert.equal(removed.status, 303);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).confirmation.excludedDeviceIds, []);
  assert.doesNotMatch(await textOf(await admin.get(`/settings/${dept}`)), /Windows 11 Pro 10/);

  const events = await policyAudit(t);
  assert.deepEqual(events.map((e) => [e.action, e.detail?.target, e.actor_label]), [
    ["policy.exclusion_added", "WIN-0859G9I39J0", "admin@example.com"],
    ["policy.exclusion_added", "QA Team", "admin@example.com"],
    ["policy.exclusion_removed", "WIN-0859G9I39J0", "admin@example.com"],
  ]);
  assert.equal(events[0]!.device_id, pc);
  assert.equal(events[0]!.department_id, dept);
  assert.equal(events[0]!.detail.policy, "confirmation");

  const again = await admin.post(`/settings/${dept}/exclusions/${first!.id}/remove`);
  assert.equal(again.status, 404);
});

Deno.test("a device or group of another department cannot be excluded", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Sales");
  const foreign = await device(t.services, other, { name: "SALES-PC" });
  const foreignGroup = await group(t.services, other, "Sales Team");
  await owner.get(`/settings/${dept}`);
  const cases: [Record<string, string>, RegExp][] = [
    [{ policy: "confirmation", target: `device:${foreign}` }, /Choose a device of this department/],
    [
      { policy: "confirmation", target: `group:${foreignGroup}` },
      /Choose a group of this department/,
    ],
    [{ policy: "confirmation", target: "device:nope" }, /Choose a device of this department/],
    [{ policy: "confirmation", target: "printer:1" }, /Choose a device or group/],
    [{ policy: "confirmation" }, /Choose a device or group/],
    [{ policy: "everything", target: `device:${foreign}` }, /Choose Session Confirmation/],
  ];
  for (const [fields, expected] of cases) {
    const res = await owner.post(`/settings/${dept}/exclusions`, fields);
    assert.equal(res.status, 400, JSON.stringify(fields));
    assert.match(await textOf(res), expected);
  }
  assert.deepEqual(await listExclusions(t.services.db, dept), []);
  assert.deepEqual(await listExclusions(t.services.db, other), []);
  assert.deepEqual(await policyAudit(t), []);
});

Deno.test("an admin changes Session Confirmation but sees Secure Connect read-only", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const pc = await device(t.services, dept, { name: "PC-1" });
  await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [dept] });
  const admin = await signIn(t, "admin@example.com");
  const page = await admin.get(`/settings/${dept}`);
  const html = await page.text();
  assert.ok(html.includes(SECURE_CONNECT_SUPER_ADMIN_ONLY));
  assert.doesNotMatch(html, /action="[^"]*\/secure-connect"/);
  assert.doesNotMatch(html, /name="policy" value="secure_connect"/);
  assert.doesNotMatch(html, new RegExp(SETUP_MFA));

  const confirmation = await admin.post(`/settings/${dept}/confirmation`, {
    enabled: "on",
    message: "Hello",
    timeoutSeconds: "30",
  });
  assert.equal(confirmation.status, 303);

  const secure = await admin.post(`/settings/${dept}/secure-connect`, {
    enabled: "on",
    reauthenticationMinutes: "10",
  });
  assert.equal(secure.status, 403);
  assert.match(await textOf(secure), new RegExp(SECURE_CONNECT_SUPER_ADMIN_ONLY));
  // The role is refused before the form is read, so a bad value still gets 403.
  const bad = await admin.post(`/settings/${dept}/secure-connect`, {
    reauthenticationMinutes: "x",
  });
  assert.equal(bad.status, 403);
  const exclude = await admin.post(`/settings/${dept}/exclusions`, {
    policy: "secure_connect",
    target: `device:${pc}`,
  });
  assert.equal(exclude.status, 403);

  await addExclusion(t.services.db, {
    departmentId: dept,
    policy: "secure_connect",
    targetKind: "device",
    targetId: pc,
    by: "owner@example.com",
    now: t.clock.now(),
  });
  const [scExclusion] = await listExclusions(t.services.db, dept);
  assert.match(await textOf(await admin.get(`/settings/${dept}`)), /PC-1 - - owner@example\.com/);
  const remove = await admin.post(`/settings/${dept}/exclusions/${scExclusion!.id}/remove`);
  assert.equal(remove.status, 403);

  const saved = await loadPolicies(t.services.db, dept);
  assert.equal(saved.confirmation.enabled, true);
  assert.deepEqual(
    { ...saved.secureConnect, excludedDeviceIds: [] },
    DEFAULTS.secureConnect,
  );
  assert.deepEqual(saved.secureConnect.excludedDeviceIds, [pc]);
  assert.deepEqual((await policyAudit(t)).map((e) => e.action), ["policy.changed"]);
});

Deno.test("a super admin without MFA is sent to MFA setup instead of enabling Secure Connect", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const page = await owner.get(`/settings/${dept}`);
  const html = await page.text();
  assert.match(html, /<a class="button" href="\/account\/mfa"[^>]*>Setup MFA<\/a>/);
  assert.ok(html.includes(SECURE_CONNECT_NEEDS_OWN_MFA));
  assert.match(html, /action="[^"]*\/secure-connect"/);

  const res = await owner.post(`/settings/${dept}/secure-connect`, {
    enabled: "on",
    reauthenticationMinutes: "15",
    requireMfaForAll: "on",
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/account/mfa");
  assert.deepEqual(await loadPolicies(t.services.db, dept), DEFAULTS);
  assert.deepEqual(await policyAudit(t), []);

  // Changing the other settings without enabling needs no MFA.
  const other = await owner.post(`/settings/${dept}/secure-connect`, {
    reauthenticationMinutes: "15",
  });
  assert.equal(other.status, 303);
  assert.equal((await loadPolicies(t.services.db, dept)).secureConnect.reauthenticationMinutes, 15);
  assert.equal((await loadPolicies(t.services.db, dept)).secureConnect.enabled, false);
});

Deno.test("a super admin with MFA enables Secure Connect and manages its device exclusions", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const pc = await device(t.services, dept, {
    name: "SRV-1",
    os: "Ubuntu 24.04",
    ips: ["10.1.1.1"],
  });
  const qa = await group(t.services, dept, "QA Team");
  await enrolTotp(t, owner);
  const page = await owner.get(`/settings/${dept}`);
  assert.doesNotMatch(await page.text(), /Setup MFA/);

  const res = await owner.post(`/settings/${dept}/secure-connect`, {
    enabled: "on",
    reauthenticationMinutes: "0",
    requireMfaForAll: "on",
  });
  assert.equal(res.status, 303);
  assert.equal(
    res.headers.get("Location"),
    `/settings/${dept}?saved=secure-connect#secure-connect`,
  );
  const saved = (await loadPolicies(t.services.db, dept)).secureConnect;
  assert.equal(saved.enabled, true);
  assert.equal(saved.reauthenticationMinutes, 0);
  assert.equal(saved.requireMfaForAll, true);

  const asGroup = await owner.post(`/settings/${dept}/exclusions`, {
    policy: "secure_connect",
    target: `group:${qa}`,
  });
  assert.equal(asGroup.status, 400);
  assert.match(await textOf(asGroup), /Secure Connect exclusions can only be devices/);
  const add = await owner.post(`/settings/${dept}/exclusions`, {
    policy: "secure_connect",
    target: `device:${pc}`,
  });
  assert.equal(add.status, 303);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).secureConnect.excludedDeviceIds, [pc]);
  const text = await textOf(await owner.get(`/settings/${dept}`));
  assert.match(text, /Excluded Devices .*Device Name OS IP Address Excluded by/);
  assert.match(text, /SRV-1 Ubuntu 24\.04 10\.1\.1\.1 owner@example\.com Remove/);

  const [exclusion] = await listExclusions(t.services.db, dept);
  const remove = await owner.post(`/settings/${dept}/exclusions/${exclusion!.id}/remove`);
  assert.equal(remove.status, 303);
  assert.deepEqual((await loadPolicies(t.services.db, dept)).secureConnect.excludedDeviceIds, []);

  const events = await policyAudit(t);
  assert.deepEqual(events.map((e) => [e.action, e.detail]), [
    ["secure_connect.policy_changed", {
      enabled: "false → true",
      reauthenticationMinutes: "30 → 0",
      requireMfaForAll: "false → true",
    }],
    ["policy.exclusion_added", { policy: "secure_connect", kind: "device", target: "SRV-1" }],
    ["policy.exclusion_removed", { policy: "secure_connect", kind: "device", target: "SRV-1" }],
  ]);
  assert.ok(events.every((e) => e.actor_label === "owner@example.com" && e.department_id === dept));
});

Deno.test("a technician gets 403 on every settings route and changes nothing", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const pc = await device(t.services, dept, { name: "PC-1" });
  await addExclusion(t.services.db, {
    departmentId: dept,
    policy: "confirmation",
    targetKind: "device",
    targetId: pc,
    by: "owner@example.com",
    now: t.clock.now(),
  });
  const [exclusion] = await listExclusions(t.services.db, dept);
  await createUser(t, { email: "tech@example.com", role: "technician", departmentIds: [dept] });
  const tech = await signIn(t, "tech@example.com");
  await tech.get("/");
  for (const path of ["/settings", `/settings/${dept}`, "/settings/nope"]) {
    const res = await tech.get(path);
    assert.equal(res.status, 403, path);
    assert.match(await textOf(res), /Your role does not allow this page/);
  }
  const posts: [string, Record<string, string>][] = [
    ["confirmation", { enabled: "on", message: "Hi", timeoutSeconds: "30" }],
    ["secure-connect", { reauthenticationMinutes: "5" }],
    ["authorization", { lifetimeMinutes: "10" }],
    ["exclusions", { policy: "confirmation", target: `device:${pc}` }],
    [`exclusions/${exclusion!.id}/remove`, {}],
  ];
  for (const [path, fields] of posts) {
    const res = await tech.post(`/settings/${dept}/${path}`, fields);
    assert.equal(res.status, 403, path);
  }
  const policies = await loadPolicies(t.services.db, dept);
  assert.deepEqual({ ...policies.confirmation, excludedDeviceIds: [] }, DEFAULTS.confirmation);
  assert.deepEqual(policies.confirmation.excludedDeviceIds, [pc]);
  assert.deepEqual(await policyAudit(t), []);
});

Deno.test("an admin cannot open or change another department's settings", async () => {
  await using t = await testApp();
  await setUp(t);
  const mine = await department(t.services, "Helpdesk");
  const other = await department(t.services, "Finance");
  await createUser(t, { email: "admin@example.com", role: "admin", departmentIds: [mine] });
  const admin = await signIn(t, "admin@example.com");
  const list = await textOf(await admin.get("/settings"));
  assert.match(list, /Helpdesk/);
  assert.doesNotMatch(list, /Finance/);
  assert.equal((await admin.get(`/settings/${mine}`)).status, 200);
  for (const path of [`/settings/${other}`, "/settings/nope"]) {
    const res = await admin.get(path);
    assert.equal(res.status, 404, path);
    assert.match(await textOf(res), /No such department/);
  }
  const post = await admin.post(`/settings/${other}/authorization`, { lifetimeMinutes: "60" });
  assert.equal(post.status, 404);
  const remove = await admin.post(`/settings/${mine}/exclusions/abc/remove`);
  assert.equal(remove.status, 404);
  assert.deepEqual(await loadPolicies(t.services.db, other), DEFAULTS);
});

Deno.test("an admin without departments sees an empty settings list", async () => {
  await using t = await testApp();
  await setUp(t);
  await department(t.services, "Helpdesk");
  await createUser(t, { email: "admin@example.com", role: "admin" });
  const admin = await signIn(t, "admin@example.com");
  const res = await admin.get("/settings");
  assert.equal(res.status, 200);
  const text = await textOf(res);
  assert.match(text, /You have no departments to configure/);
  assert.doesNotMatch(text, /Helpdesk/);
});

Deno.test("signed-out visitors are sent to sign in", async () => {
  await using t = await testApp();
  await setUp(t);
  const dept = await department(t.services);
  const res = await t.app.request(`/settings/${dept}`);
  assert.equal(res.status, 303);
  assert.equal(
    res.headers.get("Location"),
    `/login?next=${encodeURIComponent(`/settings/${dept}`)}`,
  );
});

Deno.test("Session Confirmation's consent fields save a mode, capabilities and choices, and a bad one is told beside its field", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  const page = await textOf(await owner.get(`/settings/${dept}`));
  assert.match(page, /Needs the end user's consent/);
  assert.match(page, /When nobody at the device can be asked/);
  const res = await owner.post(`/settings/${dept}/confirmation`, {
    enabled: "on",
    message: "Hello",
    timeoutSeconds: "60",
    mode: "notify",
    consentFields: "1",
    capabilities: ["desktop_control", "terminal"],
    nobodyToAsk: "refuse",
    offerWindows: "on",
  });
  assert.equal(res.status, 303);
  const saved = (await loadPolicies(t.services.db, dept)).confirmation;
  assert.equal(saved.mode, "notify");
  assert.deepEqual(saved.capabilities, ["desktop_control", "terminal"]);
  assert.equal(saved.nobodyToAsk, "refuse");
  assert.equal(saved.offerWindows, true);
  const [event] = await policyAudit(t);
  assert.equal(event!.detail.mode, "off → notify");
  assert.equal(
    event!.detail.capabilities,
    "desktop_view,desktop_control,terminal,files → desktop_control,terminal",
  );

  // Unticking the switch turns it off whatever mode the form carries.
  await owner.post(`/settings/${dept}/confirmation`, {
    message: "Hello",
    timeoutSeconds: "60",
    mode: "notify",
  });
  assert.equal((await loadPolicies(t.services.db, dept)).confirmation.mode, "off");

  const bad = await owner.post(`/settings/${dept}/confirmation`, {
    enabled: "on",
    message: "Hello",
    timeoutSeconds: "60",
    consentFields: "1",
    capabilities: ["terminal", "webcam"],
  });
  assert.equal(bad.status, 400);
  const html = await bad.text();
  assert.match(
    html,
    /<p class="field-error" id="consent-capabilities-error" role="alert">Choose only among desktop_view, desktop_control, terminal, files; 'webcam' is none of them/,
  );
  assert.match(html, /aria-describedby="consent-capabilities-error consent-capabilities-hint"/);
  assert.deepEqual(
    (await loadPolicies(t.services.db, dept)).confirmation.capabilities,
    ["desktop_control", "terminal"],
    "nothing saved",
  );
});
