// The authorization matrix: every route of the app's route table × every role × an object of
// department Alpha or Bravo in the path (or the body). Routes come from hono's `app.routes`, so a
// new route is covered the moment it exists; a route no rule below recognises fails the test
// until someone says who may use it. Each route runs against a fresh copy of one seeded SQLite
// file, so what one route changes cannot hide what the next one does.
import assert from "node:assert/strict";
import { join } from "node:path";
import { FakeClock } from "../lib/clock.ts";
import { silentLogger } from "../lib/log.ts";
import { SecretBox } from "../lib/secret_box.ts";
import { hashToken } from "../lib/tokens.ts";
import { createApp } from "../routes/app.tsx";
import { loadAssets } from "../routes/static.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { createEnrollmentToken } from "../services/devices.ts";
import { buildServices } from "../main.ts";
import type { Services } from "../services/mod.ts";
import { appendAudit } from "../store/audit.ts";
import { migrate, openDatabase } from "../store/db.ts";
import { findDevice, insertDevice, insertGroup } from "../store/devices.ts";
import { addExclusion } from "../store/policies.ts";
import { finishRecording, insertRecording } from "../store/recordings.ts";
import { findUser, findUserByEmail } from "../store/users.ts";
import { createUser, PASSWORD, setUp, signIn } from "./support/accounts.ts";
import { TEST_SCRYPT } from "./support/app.ts";
import { Client, type Transport } from "./support/client.ts";
import { copyTestDatabase, createTestDatabase } from "./support/database.ts";
import { department } from "./support/devices.ts";
import { quietWork } from "./support/work.ts";

type Dept = "A" | "B";
type Role = "anonymous" | "techA" | "techB" | "adminA" | "adminB" | "super";
const ROLES: Role[] = ["anonymous", "techA", "techB", "adminA", "adminB", "super"];

/** Routes anyone may call, and why. Everything else must be covered by a rule below. */
const PUBLIC: Record<string, string> = {
  "GET /agent/ws": "agents authenticate inside the WebSocket with their own credential",
  "GET /static/*": "scripts, styles and fonts of the pages",
  "GET /healthz": "load balancers and monitoring",
  "GET /readyz": "load balancers and monitoring",
  "GET /metrics": "monitoring: allowed networks or the metrics token, checked by the route",
  "GET /setup": "first-run setup; gone once a super admin exists",
  "POST /setup": "first-run setup; gone once a super admin exists",
  "GET /login": "signing in",
  "POST /login": "signing in",
  "GET /login/mfa": "the second step of signing in",
  "POST /login/mfa": "the second step of signing in",
  "POST /logout": "signing out ends only the caller's own session",
  "GET /approve/:token": "email approvers hold a single-use link, not an account",
  "POST /approve/:token": "email approvers hold a single-use link, not an account",
  "GET /join": "Service Desk customers have no account",
  "GET /join/:code": "Service Desk customers have no account",
  "GET /join/:code/launch.sh": "Service Desk customers have no account",
  "GET /join/:code/launch.ps1": "Service Desk customers have no account",
  "GET /downloads/:file": "agent packages (the support app) for customers and devices",
  "GET /install/agent.sh": "installers carry no secret; the token is their argument",
  "GET /install/agent.ps1": "installers carry no secret; the token is their argument",
  "ALL /api/*": "the API's own 404 for unknown endpoints",
  "GET /api/v1/openapi.json": "the API's description; it holds no data",
};

/**
 * Who may use a route:
 * - `signed_in`: anyone signed in; the route has no object of its own.
 * - `admin_page`: admins and super admins; no object of its own.
 * - `member`: people of the object's department (technicians and admins) and super admins.
 * - `admin`: admins of the object's department and super admins.
 * - `super`: super admins only (Secure Connect).
 * - `owner`: the technician whose object it is (their session, support session, API token).
 * - `overseen`: the owner, admins of the device's department and super admins.
 */
type Access =
  | "signed_in"
  | "admin_page"
  | "member"
  | "admin"
  | "super"
  | "owner"
  | "overseen";

/** The kind of object a route's path (or body) names, to fill with Alpha's or Bravo's. */
type ObjectKind =
  | "none"
  | "user"
  | "department"
  | "group"
  | "device"
  | "token"
  | "session"
  | "support"
  | "mail"
  | "api_token"
  | "exclusion"
  | "body_department"
  | "audit_filter"
  | "approval"
  | "webhook"
  | "recording";

interface Rule {
  match: RegExp;
  methods?: string[];
  access: Access;
  object: ObjectKind;
  /** An in-scope answer that is right although it is a 404 (the sub-object does not exist). */
  inScopeNotFound?: RegExp;
}

/** First match wins; the method list narrows a rule. */
const RULES: Rule[] = [
  // JSON API
  { match: /^\/api\/v1\/devices$/, access: "signed_in", object: "none" },
  {
    match: /^\/api\/v1\/devices\/:id\/email-authorization$/,
    methods: ["PUT", "DELETE"],
    access: "admin",
    object: "device",
  },
  {
    match: /^\/api\/v1\/groups\/:id\/email-authorization$/,
    methods: ["PUT", "DELETE"],
    access: "admin",
    object: "group",
  },
  {
    match: /^\/api\/v1\/groups\/:id\/email-authorization$/,
    access: "member",
    object: "group",
  },
  { match: /^\/api\/v1\/devices\/:id/, access: "member", object: "device" },
  // Session Confirmation: read by the department's people, changed by its admins.
  {
    match: /^\/api\/v1\/departments\/:id\/confirmation$/,
    methods: ["PUT"],
    access: "admin",
    object: "department",
  },
  {
    match: /^\/api\/v1\/departments\/:id\/confirmation$/,
    access: "member",
    object: "department",
  },
  {
    match: /^\/api\/v1\/sessions\/:id(\/deauthorize)?$/,
    access: "overseen",
    object: "session",
  },
  // A consent receipt is for everyone who may answer for the session, like its timeline.
  { match: /^\/api\/v1\/sessions\/:id\/receipts$/, access: "overseen", object: "session" },
  { match: /^\/api\/v1\/sessions\/:id\//, access: "owner", object: "session" },
  {
    match: /^\/api\/v1\/support-sessions$/,
    methods: ["POST"],
    access: "member",
    object: "body_department",
  },
  { match: /^\/api\/v1\/support-sessions$/, access: "signed_in", object: "none" },
  // Scoped by the service: the caller's own, and every one of the departments they administer.
  { match: /^\/api\/v1\/authorizations\/active$/, access: "signed_in", object: "none" },
  { match: /^\/api\/v1\/support-sessions\/:id/, access: "owner", object: "support" },
  // Filters name another department's device and people: the answer must stay in scope.
  { match: /^\/api\/v1\/audit$/, access: "signed_in", object: "audit_filter" },
  // Requests addressed to the caller's own email address; anyone else's is "not found".
  { match: /^\/api\/v1\/approvals$/, access: "signed_in", object: "none" },
  {
    match: /^\/api\/v1\/approvals\/:id$/,
    access: "signed_in",
    object: "approval",
    inScopeNotFound: /There is no such request for you to decide/,
  },
  // Pages
  { match: /^\/$/, access: "signed_in", object: "none" },
  { match: /^\/account\/api-tokens\/:id\/revoke$/, access: "owner", object: "api_token" },
  { match: /^\/account(\/|$)/, access: "signed_in", object: "none" },
  {
    match: /^\/admin\/users$/,
    methods: ["POST"],
    access: "admin",
    object: "body_department",
  },
  { match: /^\/admin\/users(\/new)?$/, access: "admin_page", object: "none" },
  { match: /^\/admin\/users\/:id/, access: "admin", object: "user" },
  { match: /^\/admin\/departments$/, access: "admin_page", object: "none" },
  { match: /^\/admin\/departments\/:id/, access: "admin", object: "department" },
  {
    match: /^\/admin\/groups\/:id\/delete$/,
    access: "admin",
    object: "group",
    // The first allowed caller deletes it; the next finds it gone.
    inScopeNotFound: /No such group/,
  },
  { match: /^\/admin\/groups\/:id/, access: "admin", object: "group" },
  {
    match: /^\/admin\/enrollment$/,
    methods: ["POST"],
    access: "admin",
    object: "body_department",
  },
  { match: /^\/admin\/enrollment$/, access: "admin_page", object: "none" },
  { match: /^\/admin\/enrollment\/:id\/revoke$/, access: "admin", object: "token" },
  { match: /^\/admin\/mail(\/test)?$/, access: "admin_page", object: "none" },
  { match: /^\/admin\/audit$/, access: "admin_page", object: "none" },
  // The whole chain or nothing: a department's rows alone would not verify.
  { match: /^\/admin\/audit\/bundle\.jsonl$/, access: "super", object: "none" },
  { match: /^\/admin\/mail\/:id$/, access: "admin", object: "mail" },
  { match: /^\/admin\/backups$/, access: "super", object: "none" },
  { match: /^\/admin\/webhooks$/, access: "super", object: "none" },
  {
    match: /^\/admin\/webhooks\/:id/,
    access: "super",
    object: "webhook",
    inScopeNotFound: /There is no such webhook/,
  },
  // The organization's language is the whole organization's, so only super admins set it.
  { match: /^\/settings\/language$/, access: "super", object: "none" },
  { match: /^\/settings$/, access: "admin_page", object: "none" },
  {
    match: /^\/settings\/:departmentId\/secure-connect$/,
    access: "super",
    object: "department",
  },
  {
    match: /^\/settings\/:departmentId\/exclusions\/:id\/remove$/,
    access: "admin",
    object: "exclusion",
    // The first allowed caller removes it; the next finds it gone.
    inScopeNotFound: /No such exclusion/,
  },
  // Holding agent updates is a department policy: its admins and super admins only.
  { match: /^\/settings\/:departmentId\/agent-updates$/, access: "admin", object: "department" },
  { match: /^\/settings\/:departmentId/, access: "admin", object: "department" },
  { match: /^\/devices(\/list|\/events)?$/, access: "signed_in", object: "none" },
  {
    match: /^\/devices\/:id\/delete$/,
    access: "admin",
    object: "device",
    // The first allowed caller deletes it; the next finds it gone.
    inScopeNotFound: /There is no such device/,
  },
  {
    match: /^\/devices\/:id\/(disable|enable|group|email-authorization|contact)$/,
    access: "admin",
    object: "device",
  },
  { match: /^\/devices\/:id/, access: "member", object: "device" },
  { match: /^\/sessions\/:id\/deauthorize$/, access: "overseen", object: "session" },
  {
    match: /^\/sessions\/:id\/receipts\/:receiptId$/,
    access: "overseen",
    object: "session",
    // The path names no real receipt; in scope that is "not found", out of scope the same.
    inScopeNotFound: /There is no such receipt/,
  },
  { match: /^\/sessions\/active(\/list|\/events)?$/, access: "signed_in", object: "none" },
  { match: /^\/sessions\/active\/:id\/deauthorize$/, access: "overseen", object: "session" },
  {
    match: /^\/sessions\/:id\/transfers\/:cid\/cancel$/,
    access: "owner",
    object: "session",
    inScopeNotFound: /no such transfer/,
  },
  { match: /^\/sessions\/:id\//, access: "owner", object: "session" },
  { match: /^\/support$/, methods: ["POST"], access: "member", object: "body_department" },
  { match: /^\/support(\/list|\/events)?$/, access: "signed_in", object: "none" },
  { match: /^\/support\/:id/, access: "owner", object: "support" },
  { match: /^\/audit(\.csv)?$/, access: "signed_in", object: "audit_filter" },
  { match: /^\/audit\/sessions\/:id$/, access: "overseen", object: "session" },
  { match: /^\/recordings\/:id(\/cast)?$/, access: "overseen", object: "recording" },
  { match: /^\/approvals(\/list|\/events)?$/, access: "signed_in", object: "none" },
  {
    match: /^\/approvals\/:id$/,
    access: "signed_in",
    object: "approval",
    inScopeNotFound: /There is no such request for you to decide/,
  },
];

/** Rows of the tables a request could change, to compare before and after a refused write. */
const WATCHED = [
  "users",
  "user_departments",
  "recovery_codes",
  "departments",
  "device_groups",
  "enrollment_tokens",
  "devices",
  "department_policies",
  "policy_exclusions",
  "support_sessions",
  "support_codes",
  "email_policies",
  "email_requests",
  "outbox",
  "audit_log",
  "access_revocations",
  "secure_connect_windows",
  "agent_update_holds",
  "agent_updates",
  "webhooks",
  "webhook_deliveries",
] as const;

interface Objects {
  dept: string;
  tech: string;
  admin: string;
  group: string;
  device: string;
  token: string;
  session: string;
  support: string;
  recording: string;
  mail: number;
  apiToken: string;
  exclusion: number;
  markers: string[];
}

interface Seed {
  /** Where the seeded database is (a file or a PostgreSQL URL), closed, to be copied. */
  path: string;
  drop(): Promise<void>;
  key: Uint8Array;
  start: number;
  cookies: Record<Role, Map<string, string>>;
  csrf: Record<Role, string>;
  bearer: Record<Role, string>;
  objects: Record<Dept, Objects>;
}

/** Builds the seeded database once: two departments with one of everything each. */
async function seed(dir: string): Promise<Seed> {
  const seeded = await createTestDatabase(dir);
  const path = seeded.location;
  const key = crypto.getRandomValues(new Uint8Array(32));
  const database = openDatabase(path);
  if (!seeded.migrated) await migrate(database.db);
  const clock = new FakeClock();
  const services = await buildServices({
    db: database.db,
    clock,
    log: silentLogger,
    box: new SecretBox(key),
    publicUrl: "http://localhost",
    scrypt: TEST_SCRYPT,
  });
  const t = { app: await createApp(services), services, clock, dir, [Symbol.asyncDispose]() {} };
  const owner = await setUp(t as never);
  const objects = {} as Record<Dept, Objects>;
  const clients = { super: owner } as Record<Role, Client>;
  for (const d of ["A", "B"] as const) {
    const word = d === "A" ? "Alpha" : "Bravo";
    const low = word.toLowerCase();
    const dept = await department(services, `${word}-dept-mk`);
    const tech = await createUser(t as never, {
      email: `${low}-tech-mk@example.com`,
      name: `${word} Tech-mk`,
      role: "technician",
      departmentIds: [dept],
    });
    const admin = await createUser(t as never, {
      email: `${low}-admin-mk@example.com`,
      name: `${word} Admin-mk`,
      role: "admin",
      departmentIds: [dept],
    });
    const now = clock.now();
    const group = `grp-${low}`;
    await insertGroup(services.db, {
      id: group,
      department_id: dept,
      name: `${word}-group-mk`,
      created_at: now,
    });
    const device = `dev-${low}`;
    await insertDevice(services.db, {
      id: device,
      secretHash: hashToken(`secret-${low}`),
      departmentId: dept,
      groupId: group,
      name: `${word}-PC-mk`,
      tokenId: "t",
      now,
    });
    await addExclusion(services.db, {
      departmentId: dept,
      policy: "confirmation",
      targetKind: "device",
      targetId: device,
      by: `${low}-admin-mk@example.com`,
      now,
    });
    const { id: token } = await createEnrollmentToken(quietWork(services.db, clock), {
      label: `${word}-token-mk`,
      departmentId: dept,
      groupId: null,
      expiresAt: now + 86_400_000,
      maxUses: 5,
      now,
    }, { kind: "system" });
    const techUser = toCurrentUser((await findUser(services.db, tech))!);
    const session = await services.sessions.open(
      techUser,
      (await findDevice(services.db, device))!,
      null,
    );
    // A finished terminal recording of the technician's session, its file in the data folder.
    const recording = `rec-${low}`;
    await insertRecording(services.db, {
      id: recording,
      session_id: session.id,
      device_id: device,
      department_id: dept,
      technician_id: tech,
      channel: "ch1",
      started_at: now,
      delete_after: now + 86_400_000,
    });
    await finishRecording(services.db, recording, { ended_at: now, bytes: 1, sha256: "0" });
    await Deno.mkdir(join(dir, "recordings"), { recursive: true });
    await Deno.writeTextFile(
      join(dir, "recordings", `${recording}.cast`),
      '{"version":2,"width":80,"height":24}\n',
    );
    const support = await services.support.create(techUser, {
      departmentId: dept,
      customerName: `${word} Customer-mk`,
      customerEmail: `${low}-customer-mk@example.com`,
      ticket: `${word}-ticket-mk`,
      expiryMinutes: 60,
      sendEmail: true,
    });
    const mail = (await services.db.selectFrom("outbox").select("id")
      .where("related_id", "=", support.id).executeTakeFirstOrThrow()).id;
    const { id: apiToken } = await services.apiTokens.create({
      userId: tech,
      name: `${word}-spare-token-mk`,
      expiresAt: null,
    }, { kind: "system" });
    await appendAudit(services.db, {
      at: now,
      action: "device.group_changed",
      actor: { kind: "user", id: admin, label: `${low}-admin-mk@example.com` },
      deviceId: device,
      departmentId: dept,
      detail: { marker: `${word}-audit-mk` },
    });
    clients[`tech${d}`] = await signIn(t as never, `${low}-tech-mk@example.com`);
    clients[`admin${d}`] = await signIn(t as never, `${low}-admin-mk@example.com`);
    objects[d] = {
      dept,
      tech,
      admin,
      group,
      device,
      token,
      session: session.id,
      support: support.id,
      recording,
      mail,
      apiToken,
      exclusion: (await services.db.selectFrom("policy_exclusions").select("id")
        .where("department_id", "=", dept).executeTakeFirstOrThrow()).id,
      markers: [
        `${word}-dept-mk`,
        `${low}-tech-mk@example.com`,
        `${word} Tech-mk`,
        `${low}-admin-mk@example.com`,
        `${word} Admin-mk`,
        `${word}-group-mk`,
        `${word}-PC-mk`,
        `${word}-token-mk`,
        `${word} Customer-mk`,
        `${low}-customer-mk@example.com`,
        `${word}-ticket-mk`,
        `${word}-audit-mk`,
        `${word}-spare-token-mk`,
        dept,
        tech,
        admin,
        device,
        token,
        session.id,
        support.id,
        support.code,
        apiToken,
      ],
    };
  }
  clients.anonymous = new Client(t as never);
  await clients.anonymous.get("/login");
  const bearer = {} as Record<Role, string>;
  for (const role of ROLES) {
    if (role === "anonymous") continue;
    const who = role.startsWith("tech") ? "tech" : "admin";
    const email = role === "super"
      ? "owner@example.com"
      : `${home(role) === "A" ? "alpha" : "bravo"}-${who}-mk@example.com`;
    const user = (await findUserByEmail(services.db, email))!;
    bearer[role] = (await services.apiTokens.create({
      userId: user.id,
      name: "matrix",
      expiresAt: null,
    }, { kind: "system" })).token;
  }
  const cookies = {} as Record<Role, Map<string, string>>;
  const csrf = {} as Record<Role, string>;
  for (const role of ROLES) {
    if (!clients[role].csrf) await clients[role].get("/account");
    cookies[role] = new Map(clients[role].cookies);
    csrf[role] = clients[role].csrf;
  }
  await services.stop();
  await database.close();
  return { path, drop: seeded.drop, key, start: clock.now(), cookies, csrf, bearer, objects };
}

/** A fresh app over a copy of the seeded file. */
async function fresh(
  s: Seed,
  dir: string,
  n: number,
  assets: Awaited<ReturnType<typeof loadAssets>>,
) {
  const copy = await copyTestDatabase(s.path, dir, `route-${n}`);
  const database = openDatabase(copy.location);
  const services = await buildServices({
    db: database.db,
    clock: new FakeClock(s.start),
    log: silentLogger,
    box: new SecretBox(s.key),
    publicUrl: "http://localhost",
    scrypt: TEST_SCRYPT,
    recordingsDir: join(dir, "recordings"),
  });
  const app = await createApp(services, assets);
  return {
    services,
    transport: ((p, init) =>
      Promise.resolve(
        app.request(p, init, { remoteAddr: { hostname: "203.0.113.7" } }),
      )) as Transport,
    async close() {
      await services.stop();
      await database.close();
      await copy.drop();
    },
  };
}

async function snapshot(services: Services): Promise<string> {
  const parts: string[] = [];
  for (const table of WATCHED) {
    const rows = await services.db.selectFrom(table).selectAll().execute();
    parts.push(`${table}:${JSON.stringify(rows)}`);
  }
  return parts.join("\n");
}

function ruleFor(method: string, path: string): Rule | undefined {
  return RULES.find((r) => r.match.test(path) && (!r.methods || r.methods.includes(method)));
}

/** The department a role belongs to, if any. */
function home(role: Role): Dept | null {
  return role.endsWith("A") ? "A" : role.endsWith("B") ? "B" : null;
}

/** Whether `role` may use a route of `access` on an object of department `d`. */
function allowed(access: Access, role: Role, d: Dept | null): boolean {
  if (role === "anonymous") return false;
  const admin = role === "super" || (role.startsWith("admin") && (d === null || home(role) === d));
  switch (access) {
    case "signed_in":
      return true;
    case "admin_page":
      return role === "super" || role.startsWith("admin");
    case "member":
      return role === "super" || home(role) === d;
    case "admin":
      return admin;
    case "super":
      return role === "super";
    case "owner":
      return role === `tech${d}`;
    case "overseen":
      return role === `tech${d}` || admin;
  }
}

function fillPath(path: string, rule: Rule, o: Objects | null): string {
  const id = !o ? "" : {
    none: "",
    user: o.tech,
    department: o.dept,
    group: o.group,
    device: o.device,
    token: o.token,
    session: o.session,
    support: o.support,
    recording: o.recording,
    mail: String(o.mail),
    api_token: o.apiToken,
    exclusion: String(o.exclusion),
    body_department: "",
    audit_filter: "",
    // Approval requests belong to a recipient, not a department: nobody's request by this id.
    approval: "no-such-request",
    // Webhooks belong to no department: only super admins reach one at all.
    webhook: "no-such-webhook",
  }[rule.object];
  if (rule.object === "audit_filter" && o) {
    return `${path}?device=${o.device}&technician=${o.admin}`;
  }
  return path.replace(":departmentId", o?.dept ?? "")
    .replace(/:id\b/, id)
    .replace(":cid", "1").replace(":type", "terminal");
}

let serial = 0;

/** Form fields (or a JSON body) good enough to get past validation in department `o`. */
function fields(o: Objects | null): Record<string, string | string[]> {
  serial++;
  return {
    name: `Matrix ${serial}`,
    email: `matrix-${serial}@example.com`,
    role: "technician",
    password: PASSWORD + " matrix",
    departmentIds: o ? [o.dept] : [],
    departmentId: o?.dept ?? "",
    label: `matrix ${serial}`,
    groupId: "",
    expiresHours: "24",
    maxUses: "1",
    expiryMinutes: "60",
    customerName: "Matrix",
    customerEmail: "",
    ticket: "",
    to: "matrix@example.com",
    attemptId: "x",
    required: "",
    recipients: "",
    timeoutSeconds: "180",
    asUser: "",
    hold: "on",
  };
}

function jsonBody(path: string, method: string, o: Objects | null): string | undefined {
  if (method === "GET") return undefined;
  if (/email-authorization$/.test(path) && method === "PUT") {
    return JSON.stringify({ required: false, recipients: [], timeoutSeconds: 180 });
  }
  if (/\/support-sessions$/.test(path)) return JSON.stringify({ departmentId: o?.dept ?? "" });
  return "{}";
}

async function send(
  transport: Transport,
  s: Seed,
  role: Role,
  method: string,
  path: string,
  o: Objects | null,
): Promise<{ status: number; location: string; body: string }> {
  const headers = new Headers();
  let body: BodyInit | undefined;
  if (path.startsWith("/api/")) {
    if (role !== "anonymous") headers.set("Authorization", `Bearer ${s.bearer[role]}`);
    body = jsonBody(path, method, o);
    if (body) headers.set("Content-Type", "application/json");
  } else {
    headers.set("Cookie", [...s.cookies[role]].map(([k, v]) => `${k}=${v}`).join("; "));
    if (method !== "GET") {
      const form = new URLSearchParams({ _csrf: s.csrf[role] });
      for (const [k, v] of Object.entries(fields(o))) {
        for (const item of Array.isArray(v) ? v : [v]) form.append(k, item);
      }
      body = form;
      headers.set("Content-Type", "application/x-www-form-urlencoded");
    }
  }
  const res = await transport(path, { method, headers, body });
  const type = res.headers.get("Content-Type") ?? "";
  // Live streams never end by themselves: what matters is who may open one.
  const text = type.startsWith("text/event-stream")
    ? (await res.body?.cancel(), "")
    : await res.text();
  return { status: res.status, location: res.headers.get("Location") ?? "", body: text };
}

function denied(r: { status: number; location: string }): boolean {
  return [401, 403, 404].includes(r.status) ||
    (r.status === 303 && r.location.startsWith("/login"));
}

Deno.test("every route answers each role only within its departments, leaks nothing and changes nothing across them", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-matrix-" });
  let s: Seed | undefined;
  try {
    s = await seed(dir);
    const assets = await loadAssets();
    const probe = await fresh(s, dir, 0, assets);
    const app = await createApp(probe.services, assets);
    const seen = new Set<string>();
    const routes: { method: string; path: string }[] = [];
    for (const r of app.routes) {
      const key = `${r.method} ${r.path}`;
      if (seen.has(key)) continue;
      seen.add(key);
      // Middleware registered with `use` shows up as ALL; real handlers name their method.
      if (r.method === "ALL" && !PUBLIC[key]) continue;
      routes.push({ method: r.method, path: r.path });
    }
    await probe.close();
    const unclassified = routes.filter((r) =>
      !PUBLIC[`${r.method} ${r.path}`] && !ruleFor(r.method, r.path)
    ).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(unclassified, [], "every route is public by the allow-list or has a rule");
    const problems: string[] = [];
    let n = 0;
    let checked = 0;
    for (const { method, path } of routes) {
      if (PUBLIC[`${method} ${path}`]) continue;
      const rule = ruleFor(method, path)!;
      const depts: (Dept | null)[] = rule.object === "none" ? [null] : ["A", "B"];
      const cells = depts.flatMap((d) => ROLES.map((role) => ({ d, role })))
        .map((cell) => ({ ...cell, ok: allowed(rule.access, cell.role, cell.d) }))
        // Refusals first, so nothing an allowed call changes can make a refusal look right.
        .sort((a, b) => Number(a.ok) - Number(b.ok));
      const world = await fresh(s, dir, ++n, assets);
      try {
        for (const { d, role, ok } of cells) {
          const o = d ? s.objects[d] : null;
          const url = fillPath(path, rule, o);
          const write = method !== "GET";
          const before = write && !ok ? await snapshot(world.services) : "";
          const r = await send(world.transport, s, role, method, url, o);
          checked++;
          const where = `${method} ${url} as ${role} (object in ${d ?? "-"})`;
          if (ok) {
            const fine = !denied(r) ||
              (r.status === 404 && rule.inScopeNotFound?.test(r.body) === true);
            if (!fine) problems.push(`${where}: expected access, got ${r.status} ${r.location}`);
          } else {
            if (!denied(r)) problems.push(`${where}: expected a refusal, got ${r.status}`);
            if (write && before !== await snapshot(world.services)) {
              problems.push(`${where}: a refused request changed the database`);
            }
          }
          const own = home(role);
          const foreign = role === "super"
            ? []
            : role === "anonymous"
            ? [...s.objects.A.markers, ...s.objects.B.markers]
            : s.objects[own === "A" ? "B" : "A"].markers;
          // What the caller sent (an id in the address) is not something they learned.
          const leaked = foreign.filter((m) => r.body.includes(m) && !url.includes(m));
          if (leaked.length > 0) problems.push(`${where}: the answer shows ${leaked.join(", ")}`);
        }
      } finally {
        await world.close();
      }
    }
    assert.ok(checked > 500, `only ${checked} requests were checked`);
    assert.deepEqual(problems, []);
  } finally {
    await s?.drop();
    await Deno.remove(dir, { recursive: true });
  }
});
