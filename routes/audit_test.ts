import assert from "node:assert/strict";
import { AUDIT_ACTIONS } from "../core/audit_vocabulary.ts";
import { hashToken } from "../lib/tokens.ts";
import { appendAudit, type AuditRecord } from "../store/audit.ts";
import { DEVICE_CHOICES } from "../services/audit_log.ts";
import { insertDevice } from "../store/devices.ts";
import { findUserByEmail } from "../store/users.ts";
import { createUser, setUp, signIn } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { Client, textOf } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";
import { AUDIT_ACTION_GROUPS, AUDIT_ACTION_LABELS } from "../views/audit_labels.ts";

const HEADER = "time,action,outcome,actor_kind,actor,device_id,device_name," +
  "session_id,attempt_id,department,detail";

async function device(t: TestApp, departmentId: string, id: string, name: string) {
  await insertDevice(t.services.db, {
    id,
    secretHash: hashToken("s"),
    departmentId,
    groupId: null,
    name,
    tokenId: "t",
    now: t.clock.now(),
  });
}

async function supportSession(t: TestApp, id: string, deviceId: string, technicianId: string) {
  const now = t.clock.now();
  await t.services.db.insertInto("support_sessions").values({
    id,
    device_id: deviceId,
    technician_id: technicianId,
    status: "authorized",
    state: "{}",
    wake_at: null,
    dismissed_attempt_id: null,
    opened_at: now,
    updated_at: now,
  }).execute();
}

/** Appends an event tagged with `marker` in its detail, so pages can be searched for it. */
async function event(
  t: TestApp,
  marker: string,
  record: Omit<AuditRecord, "at"> & { at?: number },
) {
  await appendAudit(t.services.db, {
    ...record,
    at: record.at ?? t.clock.now(),
    detail: { marker, ...record.detail },
  });
}

/**
 * Two departments, an admin of Sales, two Sales technicians with a support session each on
 * the Sales PC, a Lab technician, and one event of each kind of visibility (EV-A … EV-H).
 */
async function seed(t: TestApp) {
  const owner = await setUp(t);
  const db = t.services.db;
  const ownerId = (await findUserByEmail(db, "owner@example.com"))!.id;
  const sales = await department(t.services, "Sales");
  const lab = await department(t.services, "Lab");
  const admin = await createUser(t, {
    email: "ada@example.com",
    name: "Ada Admin",
    role: "admin",
    departmentIds: [sales],
  });
  const tom = await createUser(t, {
    email: "tom@example.com",
    name: "Tom Tech",
    role: "technician",
    departmentIds: [sales],
  });
  const tess = await createUser(t, {
    email: "tess@example.com",
    name: "Tess Tech",
    role: "technician",
    departmentIds: [sales],
  });
  await createUser(t, {
    email: "lars@example.com",
    name: "Lars Lab",
    role: "technician",
    departmentIds: [lab],
  });
  await device(t, sales, "dev-sales", "SALES-PC");
  await device(t, lab, "dev-lab", "LAB-PC");
  await supportSession(t, "sess-tom", "dev-sales", tom);
  await supportSession(t, "sess-tess", "dev-sales", tess);

  const onSalesPc = { deviceId: "dev-sales", departmentId: sales };
  await event(t, "EV-A", {
    action: "session.opened",
    actor: { kind: "technician", id: tom, label: "Tom Tech" },
    sessionId: "sess-tom",
    ...onSalesPc,
  });
  await event(t, "EV-B", {
    action: "confirmation.accepted",
    outcome: "accepted",
    actor: { kind: "end_user", label: "alice" },
    sessionId: "sess-tom",
    attemptId: "att-1",
    ...onSalesPc,
  });
  await event(t, "EV-C", {
    action: "session.opened",
    actor: { kind: "technician", id: tess, label: "Tess Tech" },
    sessionId: "sess-tess",
    ...onSalesPc,
  });
  await event(t, "EV-D", {
    action: "device.disabled",
    outcome: "device_disabled",
    actor: { kind: "user", id: admin, label: "ada@example.com" },
    deviceId: "dev-lab",
    departmentId: lab,
  });
  await event(t, "EV-E", {
    action: "department.created",
    actor: { kind: "user", id: ownerId, label: "owner@example.com" },
    departmentId: lab,
  });
  await event(t, "EV-F", {
    action: "user.created",
    actor: { kind: "user", id: ownerId, label: "owner@example.com" },
  });
  await event(t, "EV-G", {
    action: "device.online",
    actor: { kind: "agent", id: "dev-lab", label: "LAB-PC" },
    deviceId: "dev-lab",
    departmentId: lab,
  });
  await event(t, "EV-H", {
    action: "device_group.created",
    actor: { kind: "user", id: ownerId, label: "owner@example.com" },
    departmentId: lab,
  });
  return { owner, ownerId, admin, tom, tess, sales, lab };
}

const MARKERS = ["EV-A", "EV-B", "EV-C", "EV-D", "EV-E", "EV-F", "EV-G", "EV-H"];

/** The markers a response shows, in order of appearance. */
async function markers(res: Response): Promise<string[]> {
  assert.equal(res.status, 200);
  return shown(await res.text());
}

function shown(text: string): string[] {
  const at = (m: string) => text.search(new RegExp(`${m}<|""${m}""`));
  return MARKERS.filter((m) => at(m) >= 0).sort((a, b) => at(a) - at(b));
}

/** A small RFC 4180 reader, so tests check what a spreadsheet would read. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
      i++;
    } else if (ch === "\r" || ch === "\n") {
      assert.fail(`a bare line break outside quotes in row ${rows.length + 1}`);
    } else field += ch;
  }
  assert.equal(field, "", "the file ends with a line break");
  return rows;
}

Deno.test("a technician sees only their own events and the events of their sessions", async () => {
  await using t = await testApp();
  await seed(t);
  const tom = await signIn(t, "tom@example.com");
  const page = await tom.get("/audit");
  const html = await page.clone().text();
  assert.deepEqual(await markers(page), ["EV-B", "EV-A"]);
  assert.match(html, /Signed in/, "their own sign-in is theirs to see");
  assert.doesNotMatch(html, /tess@example\.com|ada@example\.com/, "no one else in the choices");
  const tess = await signIn(t, "tess@example.com");
  assert.deepEqual(await markers(await tess.get("/audit")), ["EV-C"]);
  const lars = await signIn(t, "lars@example.com");
  assert.deepEqual(await markers(await lars.get("/audit")), []);
  assert.deepEqual(
    await markers(await tom.get("/audit?device=dev-lab")),
    [],
    "a filter cannot widen the scope",
  );
  assert.deepEqual(await markers(await tom.get("/audit?technician=" + (await tessId(t)))), []);
});

async function tessId(t: TestApp): Promise<string> {
  return (await findUserByEmail(t.services.db, "tess@example.com"))!.id;
}

Deno.test("admins see their departments' events and their own; super admins see all", async () => {
  await using t = await testApp();
  const { owner } = await seed(t);
  const ada = await signIn(t, "ada@example.com");
  const res = await ada.get("/audit");
  const html = await res.clone().text();
  assert.deepEqual(await markers(res), ["EV-D", "EV-C", "EV-B", "EV-A"]);
  assert.match(html, /href="\/devices\/dev-sales"/, "a device of their department is linked");
  assert.match(html, /LAB-PC/);
  assert.doesNotMatch(html, /href="\/devices\/dev-lab"/, "a device they cannot open is not");
  assert.match(html, /tess@example\.com/);
  assert.doesNotMatch(html, /lars@example\.com/, "only people of their departments to pick");
  const all = await owner.get("/audit");
  const ownerHtml = await all.clone().text();
  assert.deepEqual(await markers(all), [...MARKERS].reverse());
  assert.match(ownerHtml, /href="\/devices\/dev-lab"/);
  assert.match(ownerHtml, /lars@example\.com/);
});

Deno.test("the page shows labels, outcome badges, who, session and details", async () => {
  await using t = await testApp();
  const { owner } = await seed(t);
  const res = await owner.get("/audit?action=confirmation.accepted");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
  const html = await res.clone().text();
  assert.match(
    html,
    /<time datetime="2026-11-21T09:00:00.000Z" data-local title="2026-11-21 09:00:00 UTC"/,
  );
  assert.match(html, /<span class="badge badge-ok"[^>]*>Accepted<\/span>/);
  assert.match(html, /href="\/audit\/sessions\/sess-tom" title="Session sess-tom"/);
  const text = await textOf(res);
  assert.match(
    text,
    /Confirmation accepted Accepted Marker: EV-B End user at SALES-PC End user \(alice\) SALES-PC Timeline/,
  );
  assert.match(html, /href="\/audit.csv\?action=confirmation.accepted"/, "CSV keeps the filters");
  const unknown = await textOf(await owner.get("/audit?action=device.enrolled"));
  assert.match(unknown, /No events match these filters/);
});

Deno.test("every audit action has a label and belongs to a filter family", () => {
  for (const action of AUDIT_ACTIONS) {
    assert.ok(AUDIT_ACTION_LABELS[action], `no label for ${action}`);
  }
  for (const action of Object.keys(AUDIT_ACTION_LABELS)) {
    assert.ok(AUDIT_ACTIONS.includes(action as never), `${action} is not in the vocabulary`);
    assert.ok(
      Object.keys(AUDIT_ACTION_GROUPS).some((prefix) => action.startsWith(prefix)),
      `${action} is in no family`,
    );
  }
});

Deno.test("each filter narrows the list", async () => {
  await using t = await testApp();
  const { owner, tom, tess } = await seed(t);
  const cases: [string, string[]][] = [
    ["device=dev-lab", ["EV-G", "EV-D"]],
    [`technician=${tom}`, ["EV-A"]],
    [`device=dev-sales&technician=${tess}`, ["EV-C"]],
    ["outcome=accepted", ["EV-B"]],
    ["outcome=device_disabled", ["EV-D"]],
    ["action=session.opened", ["EV-C", "EV-A"]],
    ["action=device.", ["EV-G", "EV-D"]],
    ["action=device_group.", ["EV-H"]],
    ["action=user.created", ["EV-F"]],
  ];
  for (const [query, expected] of cases) {
    assert.deepEqual(await markers(await owner.get(`/audit?${query}`)), expected, query);
  }
  const form = await owner.get("/audit?device=&technician=&action=&outcome=&from=&to=");
  assert.deepEqual(await markers(form), [...MARKERS].reverse(), "empty fields are no filter");
});

Deno.test("past the devices it lists, the audit filter takes a device id the device's page links to", async () => {
  await using t = await testApp();
  const { owner, lab } = await seed(t);
  const listed = await (await owner.get("/audit")).text();
  assert.match(listed, /<option value="dev-lab"[^>]*>LAB-PC</, "a small fleet is listed by name");
  await t.services.db.transaction().execute(async (trx) => {
    for (let i = 0; i < DEVICE_CHOICES; i++) {
      await insertDevice(trx, {
        id: `many-${i}`,
        secretHash: hashToken(`s${i}`),
        departmentId: lab,
        groupId: null,
        name: `PC-${i}`,
        tokenId: "t",
        now: t.clock.now(),
      });
    }
  });
  const page = await owner.get("/audit");
  const html = await page.clone().text();
  assert.doesNotMatch(html, /<option value="many-/, "a fleet is not listed on every view");
  assert.match(html, /<input name="device" value[ />]/);
  assert.ok(html.length < 100_000, `the page stays small (${html.length} bytes)`);
  assert.deepEqual(await markers(await owner.get("/audit?device=dev-lab")), ["EV-G", "EV-D"]);
  const filtered = await (await owner.get("/audit?device=dev-lab")).text();
  assert.match(filtered, /<input name="device" value="dev-lab"/, "the filter in force shows");
  const devicePage = await (await owner.get("/devices/dev-lab")).text();
  assert.match(devicePage, /href="\/audit\?device=dev-lab"/);
});

Deno.test("from and to are UTC days, from inclusive and to including its whole day", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const at = (d: number, h = 0, m = 0, s = 0, ms = 0) => Date.UTC(2026, 9, d, h, m, s, ms);
  const actor = { kind: "system" } as const;
  await event(t, "EV-A", { action: "session.closed", actor, at: at(19, 23, 59, 59, 999) });
  await event(t, "EV-B", { action: "session.closed", actor, at: at(20) });
  await event(t, "EV-C", { action: "session.closed", actor, at: at(20, 23, 59, 59, 999) });
  await event(t, "EV-D", { action: "session.closed", actor, at: at(21) });
  const cases: [string, string[]][] = [
    ["from=2026-10-20&to=2026-10-20", ["EV-C", "EV-B"]],
    ["from=2026-10-20", ["EV-D", "EV-C", "EV-B"]],
    ["to=2026-10-20", ["EV-C", "EV-B", "EV-A"]],
    ["from=2026-10-21&to=2026-10-21", ["EV-D"]],
    ["from=2026-10-22&to=2026-10-30", []],
  ];
  for (const [query, expected] of cases) {
    assert.deepEqual(await markers(await owner.get(`/audit?${query}`)), expected, query);
  }
});

Deno.test("the list pages through more than 50 events with the Older cursor", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await t.services.db.transaction().execute(async (trx) => {
    for (let n = 0; n < 120; n++) {
      await appendAudit(trx, {
        at: t.clock.now() + n,
        action: "channel.opened",
        actor: { kind: "system" },
        detail: { n },
      });
    }
  });
  const seen: number[][] = [];
  let path: string | null = "/audit?action=channel.opened";
  while (path) {
    const res = await owner.get(path);
    assert.equal(res.status, 200, path);
    const html = await res.text();
    seen.push([...html.matchAll(/data-event="(\d+)"/g)].map((m) => Number(m[1])));
    const older = html.match(/href="(\/audit\?[^"]*)"[^>]*>Older →/)?.[1];
    if (older) assert.match(older, /action=channel.opened/, "the cursor keeps the filters");
    path = older ? older.replaceAll("&amp;", "&") : null;
    if (seen.length > 1) assert.match(html, />← Newest</);
  }
  assert.deepEqual(seen.map((p) => p.length), [50, 50, 20]);
  const ids = seen.flat();
  assert.deepEqual(ids, [...ids].sort((a, b) => b - a), "newest first, no overlap");
  const stored = await t.services.db.selectFrom("audit_log").select("id")
    .where("action", "=", "channel.opened").orderBy("id", "desc").execute();
  assert.deepEqual(ids, stored.map((r) => r.id));
});

Deno.test("htmx gets the list alone; a history restore gets the whole page", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const partial = await owner.request("/audit", { headers: { "HX-Request": "true" } });
  const html = await partial.text();
  assert.ok(html.startsWith('<div id="audit-list"'), html.slice(0, 80));
  assert.doesNotMatch(html, /<html/);
  const restore = await owner.request("/audit", {
    headers: { "HX-Request": "true", "HX-History-Restore-Request": "true" },
  });
  assert.match(await restore.text(), /^<!doctype html>/);
});

Deno.test("an empty log and an empty result say so differently", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  await t.services.db.deleteFrom("audit_log").execute();
  assert.match(await textOf(await owner.get("/audit")), /Nothing has happened yet/);
  assert.match(
    await textOf(await owner.get("/audit?outcome=denied")),
    /No events match these filters/,
  );
});

Deno.test("bad parameters get 400 with a plain message, on the page and the export", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const cases: [string, RegExp][] = [
    ["outcome=sideways", /Outcome must be one of the listed outcomes/],
    ["from=yesterday", /From must be a date like 2026-11-21 or a time like 2026-11-21T14:30/],
    ["from=2026-02-30", /From must be a date like 2026-11-21/],
    ["to=2026-13-01", /To must be a date like 2026-11-21/],
    ["from=2026-11-21T24:00", /From must be a date like 2026-11-21/],
    ["from=2026-11-21&to=2026-11-20", /The from time must not be after the to time/],
    ["tz=abc", /The time zone offset must be a number of minutes/],
    ["tz=900", /The time zone offset must be within 14 hours/],
    ["before=abc", /The page cursor must be a number/],
    ["before=0", /The page cursor must be positive/],
    ["before=1.5", /The page cursor must be a whole number/],
    ["action=DROP%20TABLE", /Action must be an action such as confirmation.accepted/],
    [`device=${"x".repeat(101)}`, /Device must be at most 100 characters/],
  ];
  for (const [query, message] of cases) {
    for (const path of [`/audit?${query}`, `/audit.csv?${query}`]) {
      const res = await owner.get(path);
      assert.equal(res.status, 400, path);
      assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/, path);
      assert.match(await textOf(res), message, path);
    }
  }
});

Deno.test("signed-out visitors are sent to sign in", async () => {
  await using t = await testApp();
  await setUp(t);
  const visitor = new Client(t);
  for (const path of ["/audit", "/audit.csv"]) {
    const res = await visitor.get(path);
    assert.equal(res.status, 303, path);
    assert.equal(res.headers.get("Location"), `/login?next=${encodeURIComponent(path)}`);
  }
});

Deno.test("the CSV export quotes per RFC 4180 and neutralises formulas", async () => {
  await using t = await testApp();
  const { owner, sales } = await seed(t);
  await device(t, sales, "dev-odd", 'Front desk, "2"\nupstairs');
  const labels = [
    "=HYPERLINK(1)",
    "+SUM(A1)",
    "-2+3",
    "@SUM(A1)",
    "\tcmd",
    "\rcmd",
    "two\nlines",
    "plain",
  ];
  for (const label of labels) {
    await event(t, "EV-X", {
      action: "answer.ignored",
      outcome: "withdrawn",
      actor: { kind: "end_user", label },
      deviceId: "dev-odd",
      departmentId: sales,
      detail: { note: 'said "no", twice' },
    });
  }
  const res = await owner.get("/audit.csv?action=answer.ignored");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("Content-Type"), "text/csv; charset=utf-8");
  assert.equal(
    res.headers.get("Content-Disposition"),
    'attachment; filename="assent-audit-20261121.csv"',
  );
  const text = await res.text();
  assert.ok(text.startsWith(HEADER + "\r\n"), text.slice(0, 120));
  assert.ok(text.includes('"Front desk, ""2""\nupstairs"'), "commas, quotes and newlines quoted");
  const [header, ...rows] = parseCsv(text);
  assert.equal(header!.join(","), HEADER);
  assert.equal(rows.length, labels.length, "the filter applies to the export");
  assert.deepEqual(rows.map((r) => r[4]), [
    "plain",
    "two\nlines",
    "'\rcmd",
    "'\tcmd",
    "'@SUM(A1)",
    "'-2+3",
    "'+SUM(A1)",
    "'=HYPERLINK(1)",
  ]);
  const row = rows[0]!;
  assert.deepEqual(row.slice(0, 4), [
    "2026-11-21T09:00:00.000Z",
    "answer.ignored",
    "withdrawn",
    "end_user",
  ]);
  assert.deepEqual(row.slice(5), [
    "dev-odd",
    'Front desk, "2"\nupstairs',
    "",
    "",
    "Sales",
    '{"marker":"EV-X","note":"said \\"no\\", twice"}',
  ]);
});

Deno.test("the CSV export holds only the viewer's scope", async () => {
  await using t = await testApp();
  await seed(t);
  const tom = await signIn(t, "tom@example.com");
  const text = await (await tom.get("/audit.csv")).text();
  assert.deepEqual(shown(text), ["EV-B", "EV-A"]);
  const ada = await signIn(t, "ada@example.com");
  const adas = await (await ada.get("/audit.csv?action=session.opened")).text();
  assert.deepEqual(shown(adas), ["EV-C", "EV-A"]);
});

Deno.test("the CSV export streams every row in batches without holding the database", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const total = 1234;
  await t.services.db.transaction().execute(async (trx) => {
    for (let n = 0; n < total; n++) {
      await appendAudit(trx, {
        at: t.clock.now(),
        action: "channel.closed",
        actor: { kind: "system", label: "x".repeat(200) },
        detail: { n },
      });
    }
  });
  const res = await owner.get("/audit.csv?action=channel.closed&before=50");
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.ok(!first.done && first.value.length > 0);
  // The rest is unread: a stream holding SQLite's only connection would block this request.
  const other = owner.get("/audit?action=channel.closed");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"blocked">((r) => timer = setTimeout(() => r("blocked"), 2000));
  const page = await Promise.race([other, timeout]);
  clearTimeout(timer);
  assert.notEqual(page, "blocked", "the export must not block other requests");
  assert.equal((page as Response).status, 200);
  await (page as Response).body?.cancel();
  const chunks = [first.value];
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  const text = new TextDecoder().decode(await new Blob(chunks).arrayBuffer());
  const ns = parseCsv(text).slice(1).map((r) => JSON.parse(r[10]!).n as number);
  assert.equal(ns.length, total, "every row, whatever the page cursor");
  assert.deepEqual(ns, Array.from({ length: total }, (_, i) => total - 1 - i));
});

Deno.test("a session's timeline tells its events in order, for its technician and overseers only", async () => {
  await using t = await testApp();
  const { owner, sales } = await seed(t);
  const db = t.services.db;
  await createUser(t, {
    email: "ann@example.com",
    name: "Ann Other",
    role: "admin",
    departmentIds: [
      (await db.selectFrom("departments").select("id").where("id", "!=", sales)
        .executeTakeFirstOrThrow()).id,
    ],
  });
  const expiresAt = Date.UTC(2026, 10, 21, 13, 0);
  await event(t, "EV-Z", {
    action: "authorization.granted",
    outcome: "authorized",
    actor: { kind: "system" },
    deviceId: "dev-sales",
    sessionId: "sess-tom",
    departmentId: sales,
    detail: { expiresAt },
  });
  for (const email of ["tom@example.com", "ada@example.com"]) {
    const client = await signIn(t, email);
    const res = await client.get("/audit/sessions/sess-tom");
    assert.equal(res.status, 200, email);
    const html = await res.clone().text();
    assert.ok(
      html.indexOf("EV-A") < html.indexOf("EV-B") && html.indexOf("EV-B") < html.indexOf("EV-Z"),
      "oldest first",
    );
    assert.doesNotMatch(html, /EV-C/, "another session's events stay out");
    assert.match(
      html,
      /Authorization expires at <time datetime="2026-11-21T13:00:00.000Z" data-local="clock"/,
    );
    const text = await textOf(res);
    assert.match(text, /Support session on SALES-PC/);
    assert.match(text, /Technician Tom Tech/);
    assert.match(text, /Support session opened Tom Tech · Technician Marker: EV-A/);
    assert.match(text, /Authorization granted Authorized/);
    assert.match(text, /Assent · System/);
  }
  assert.equal((await owner.get("/audit/sessions/sess-tom")).status, 200);
  for (const email of ["tess@example.com", "lars@example.com", "ann@example.com"]) {
    const client = await signIn(t, email);
    const res = await client.get("/audit/sessions/sess-tom");
    assert.equal(res.status, 404, email);
    assert.doesNotMatch(await res.text(), /EV-A|SALES-PC/, email);
  }
  assert.equal((await owner.get("/audit/sessions/no-such-session")).status, 404);
});

Deno.test("the session filter and a local time range narrow the list", async () => {
  await using t = await testApp();
  const { owner } = await seed(t);
  assert.deepEqual(await markers(await owner.get("/audit?session=sess-tom")), ["EV-B", "EV-A"]);
  // The seed's events are at 09:00 UTC, which is 04:00 in New York (300 minutes behind).
  assert.equal(
    (await markers(await owner.get("/audit?from=2026-11-21T04:00&to=2026-11-21T04:00&tz=300")))
      .length,
    8,
  );
  assert.deepEqual(
    await markers(await owner.get("/audit?from=2026-11-21T09:00&to=2026-11-21T09:00&tz=300")),
    [],
  );
  assert.deepEqual(
    await markers(await owner.get("/audit?from=2026-11-21T09:01&tz=0")),
    [],
  );
  const page = await owner.get("/audit?from=2026-11-21&to=2026-11-21");
  const html = await page.text();
  assert.match(html, /name="from" value="2026-11-21T00:00"/);
  assert.match(html, /name="to" value="2026-11-21T23:59"/);
});

Deno.test("names with roles stand in for ids, and admins see whether the chain is intact", async () => {
  await using t = await testApp();
  const { owner } = await seed(t);
  const text = await textOf(await owner.get("/audit"));
  assert.match(text, /Chain intact \d+ rows, no checkpoint yet/);
  assert.match(text, /LAB-PC Device agent/, "an agent is its device");
  assert.match(text, /Olive Owner Super admin|Owner Super admin/);
  const tom = await signIn(t, "tom@example.com");
  assert.doesNotMatch(await textOf(await tom.get("/audit")), /Chain intact/);
  await t.services.db.updateTable("audit_log").set({ detail: '{"marker":"EV-X"}' })
    .where("seq", "=", 3).execute();
  t.clock.advance(11 * 60_000);
  const broken = await textOf(await owner.get("/audit"));
  assert.match(broken, /Chain broken at row 3 \(.*\): Row 3 was changed after it was written/);
});
