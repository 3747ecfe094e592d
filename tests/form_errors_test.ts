// Every form that refuses input says so in words a technician understands, beside each field:
// the field is marked (aria-invalid), described by its error (aria-describedby), every problem of
// the post is shown (not only the first), and nothing reads like code ("Invalid timeoutSeconds").
import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { insertDevice, insertGroup } from "../store/devices.ts";
import { setUp } from "./support/accounts.ts";
import { testApp } from "./support/app.ts";
import { Client } from "./support/client.ts";
import { department } from "./support/devices.ts";

interface Case {
  form: string;
  /** The page to load first (for its CSRF token), then where the form posts. */
  page: (ids: Ids) => string;
  action: (ids: Ids) => string;
  fields: Record<string, string>;
  /** Each refused field's control id and a part of its sentence. */
  expect: { id: string; says: RegExp }[];
  method?: "GET";
  headers?: Record<string, string>;
  /** Before the first super admin exists (the setup form). */
  fresh?: boolean;
  /** Values the page must show again after the refusal. */
  keeps?: { id: string; value: string }[];
}

interface Ids {
  department: string;
  device: string;
  group: string;
}

const CASES: Case[] = [
  {
    form: "device email authorization: recipients and timeout at once",
    page: (i) => `/devices/${i.device}`,
    action: (i) => `/devices/${i.device}/email-authorization`,
    fields: { required: "on", recipients: "not", timeoutSeconds: "-1", approval: "first" },
    expect: [
      {
        id: "f-recipients",
        says: /Enter email addresses separated by commas; 'not' is not an email address/,
      },
      { id: "f-timeout", says: /Enter the timeout as a whole number from 10 to 3600 seconds; -1/ },
    ],
  },
  {
    form: "device email authorization: an empty timeout is empty, not 0",
    page: (i) => `/devices/${i.device}`,
    action: (i) => `/devices/${i.device}/email-authorization`,
    fields: { required: "on", recipients: "ann@example.com", timeoutSeconds: "" },
    expect: [{ id: "f-timeout", says: /Enter the timeout, a whole number from 10 to 3600/ }],
  },
  {
    form: "group email authorization: quorum larger than the list",
    page: (i) => `/admin/groups/${i.group}`,
    action: (i) => `/admin/groups/${i.group}/email-authorization`,
    fields: {
      required: "on",
      recipients: "ann@example.com",
      timeoutSeconds: "180",
      approval: "quorum",
      allows: "3",
      denies: "9",
    },
    expect: [
      { id: "f-allows", says: /Enter the number of allows needed as a whole number from 1 to 1/ },
      { id: "f-denies", says: /Enter the number of denies that reject as a whole number/ },
    ],
  },
  {
    form: "Session Confirmation: empty message and bad timeout at once",
    page: (i) => `/settings/${i.department}`,
    action: (i) => `/settings/${i.department}/confirmation`,
    fields: { enabled: "on", message: "   ", timeoutSeconds: "abc" },
    expect: [
      { id: "confirmation-message", says: /Confirmation Message is required/ },
      { id: "f-timeoutSeconds", says: /Timeout \(in seconds\) must be a whole number/ },
    ],
  },
  {
    form: "Secure Connect: reauthentication time",
    page: (i) => `/settings/${i.department}`,
    action: (i) => `/settings/${i.department}/secure-connect`,
    fields: { reauthenticationMinutes: "99999" },
    expect: [{ id: "f-reauthenticationMinutes", says: /from 0 to 1440/ }],
  },
  {
    form: "authorization lifetime",
    page: (i) => `/settings/${i.department}`,
    action: (i) => `/settings/${i.department}/authorization`,
    fields: { lifetimeMinutes: "" },
    expect: [{
      id: "f-lifetimeMinutes",
      says: /Authorization lifetime \(in minutes\) is required/,
    }],
  },
  {
    form: "terminal recording retention",
    page: (i) => `/settings/${i.department}`,
    action: (i) => `/settings/${i.department}/recording`,
    fields: { terminal: "on", retentionDays: "0" },
    expect: [{ id: "f-retentionDays", says: /Keep recordings for must be a whole number/ }],
  },
  {
    form: "organization language",
    page: () => "/settings",
    action: () => "/settings/language",
    fields: { locale: "klingon" },
    expect: [{ id: "f-locale", says: /Choose one of the offered languages/ }],
  },
  {
    form: "join code (German reader)",
    page: () => "/join",
    action: () => "/join?code=12-34",
    fields: {},
    method: "GET",
    headers: { "Accept-Language": "de" },
    expect: [{ id: "f-code", says: /Ein Sitzungscode hat 9 Ziffern/ }],
  },
  {
    form: "first-run setup",
    fresh: true,
    page: () => "/setup",
    action: () => "/setup",
    fields: {
      organizationName: "Acme",
      name: " ",
      email: "not-an-address",
      password: "correct horse battery",
      passwordRepeat: "correct horse batter",
    },
    expect: [
      { id: "f-name", says: /Your name is required/ },
      { id: "f-email", says: /Enter a valid email address/ },
      { id: "f-passwordRepeat", says: /The two passwords do not match/ },
    ],
    keeps: [{ id: "f-organizationName", value: "Acme" }, {
      id: "f-email",
      value: "not-an-address",
    }],
  },
  {
    form: "add user",
    page: () => "/admin/users/new",
    action: () => "/admin/users",
    fields: { name: "", email: "ann@", role: "emperor", password: "" },
    expect: [
      { id: "f-name", says: /Name is required/ },
      { id: "f-email", says: /Enter a valid email address/ },
      { id: "f-role", says: /Choose a role/ },
      { id: "f-password", says: /Initial password is required/ },
    ],
    keeps: [{ id: "f-email", value: "ann@" }],
  },
  {
    form: "add user: a taken email",
    page: () => "/admin/users/new",
    action: () => "/admin/users",
    fields: {
      name: "Twin",
      email: "owner@example.com",
      role: "technician",
      password: "correct horse battery",
    },
    expect: [{
      id: "f-email",
      says: /A user with email &quot;owner@example.com&quot; already exists/,
    }],
    keeps: [{ id: "f-name", value: "Twin" }],
  },
  {
    form: "new department",
    page: () => "/admin/departments",
    action: () => "/admin/departments",
    fields: { name: "x".repeat(101) },
    expect: [{ id: "f-name", says: /Name must be at most 100 characters/ }],
  },
  {
    form: "change password",
    page: () => "/account",
    action: () => "/account/password",
    fields: { current: "", password: "correct horse battery", passwordRepeat: "something else" },
    expect: [
      { id: "f-current", says: /Current password is required/ },
      { id: "f-passwordRepeat", says: /The two new passwords do not match/ },
    ],
  },
  {
    form: "change password: a wrong current password",
    page: () => "/account",
    action: () => "/account/password",
    fields: {
      current: "not my password",
      password: "a brand new passphrase",
      passwordRepeat: "a brand new passphrase",
    },
    expect: [{ id: "f-current", says: /Your current password is not right/ }],
  },
  {
    form: "authenticator code",
    page: () => "/account/mfa",
    action: () => "/account/mfa/confirm",
    fields: { code: "12" },
    expect: [{ id: "f-code", says: /Enter the 6-digit code/ }],
  },
  {
    form: "new API token",
    page: () => "/account/api-tokens",
    action: () => "/account/api-tokens",
    fields: { name: "", expiresDays: "7" },
    expect: [
      { id: "f-name", says: /Name is required/ },
      { id: "f-expires", says: /Choose when the token expires/ },
    ],
  },
  {
    form: "new device group",
    page: (i) => `/admin/departments/${i.department}`,
    action: (i) => `/admin/departments/${i.department}/groups`,
    fields: { name: "Forms" },
    expect: [{ id: "f-group-name", says: /A group named &quot;Forms&quot; already exists/ }],
    keeps: [{ id: "f-group-name", value: "Forms" }],
  },
  {
    form: "group name",
    page: (i) => `/admin/groups/${i.group}`,
    action: (i) => `/admin/groups/${i.group}/rename`,
    fields: { name: "" },
    expect: [{ id: "group-name", says: /Group name is required/ }],
  },
  {
    form: "new enrollment token",
    page: () => "/admin/enrollment",
    action: () => "/admin/enrollment",
    fields: { label: "Front office", departmentId: "", expiresHours: "0", maxUses: "1.5" },
    expect: [
      { id: "f-departmentId", says: /Choose a department/ },
      { id: "f-expires", says: /A token must live at least an hour/ },
      { id: "f-maxUses", says: /Number of uses must be a whole number/ },
    ],
    keeps: [{ id: "f-label", value: "Front office" }, { id: "f-maxUses", value: "1.5" }],
  },
  {
    form: "new webhook",
    page: () => "/admin/webhooks",
    action: () => "/admin/webhooks",
    fields: { url: "ftp://hooks.example.com/in", secret: "short" },
    expect: [
      { id: "f-url", says: /A webhook URL must start with https:\/\/ or http:\/\// },
      { id: "f-secret", says: /A secret must be at least 24 characters/ },
      { id: "f-events", says: /Choose at least one event/ },
    ],
    keeps: [{ id: "f-url", value: "ftp://hooks.example.com/in" }],
  },
  {
    form: "test mail",
    page: () => "/admin/mail",
    action: () => "/admin/mail/test",
    fields: { to: "ann.example.com" },
    expect: [{ id: "f-to", says: /Enter a valid email address/ }],
    keeps: [{ id: "f-to", value: "ann.example.com" }],
  },
  {
    form: "new support session",
    page: () => "/support",
    action: () => "/support",
    fields: {
      customerName: "Ann",
      customerEmail: "ann@",
      ticket: "T".repeat(81),
      departmentId: "dept-x",
      expiryMinutes: "7",
    },
    expect: [
      { id: "f-customerEmail", says: /Enter a valid email address/ },
      { id: "f-ticket", says: /The ticket reference is too long \(at most 80 characters\)/ },
      { id: "expiryMinutes", says: /Choose one of the offered expiry times/ },
    ],
    keeps: [{ id: "f-customerName", value: "Ann" }, { id: "f-customerEmail", value: "ann@" }],
  },
];

for (const c of CASES) {
  Deno.test(`the ${c.form} form ties each error to its field in words`, async () => {
    await using t = await testApp();
    const owner = c.fresh ? new Client(t) : await setUp(t);
    const ids = c.fresh ? { department: "", device: "", group: "" } : await fixtures(t);
    const client = c.method === "GET" ? new Client(t) : owner;
    for (const [name, value] of Object.entries(c.headers ?? {})) client.headers.set(name, value);
    await client.get(c.page(ids));
    const res = c.method === "GET"
      ? await client.get(c.action(ids))
      : await client.post(c.action(ids), c.fields);
    assert.equal(res.status, 400);
    const html = await res.text();
    assert.doesNotMatch(html, /Invalid [a-zA-Z.]+ |&quot;-1&quot;/, "no developer's words");
    for (const { id, says } of c.expect) {
      const control = html.match(
        new RegExp(`<(?:input|textarea|select|fieldset)[^>]*\\bid="${id}"[^>]*>`),
      )
        ?.[0];
      assert.ok(control, `${id} is on the page`);
      assert.match(control, /aria-invalid="true"/, `${id} is marked`);
      const describedBy = control.match(/aria-describedby="([^"]+)"/)?.[1]?.split(" ") ?? [];
      assert.ok(describedBy.includes(`${id}-error`), `${id} is described by its error`);
      const error = html.match(new RegExp(`id="${id}-error"[^>]*>([^<]*)<`))?.[1] ?? "";
      assert.match(error, says, `${id} says what to enter: ${error}`);
    }
    for (const { id, value } of c.keeps ?? []) {
      const control = html.match(new RegExp(`<input[^>]*\\bid="${id}"[^>]*>`))?.[0] ?? "";
      assert.match(control, new RegExp(`value="${value}"`), `${id} keeps what was typed`);
    }
    if (c.expect.length > 1) {
      // Every problem is listed on top too, each a link to its field.
      for (const { id } of c.expect) assert.match(html, new RegExp(`<a href="#${id}">`));
    }
  });
}

async function fixtures(t: Awaited<ReturnType<typeof testApp>>): Promise<Ids> {
  const { db, clock } = t.services;
  const dept = await department(t.services);
  const now = clock.now();
  await insertGroup(db, { id: "grp-forms", department_id: dept, name: "Forms", created_at: now });
  await insertDevice(db, {
    id: "dev-forms",
    secretHash: hashToken("secret-forms"),
    departmentId: dept,
    groupId: "grp-forms",
    name: "PC-FORMS",
    tokenId: "t",
    now,
  });
  return { department: dept, device: "dev-forms", group: "grp-forms" };
}
