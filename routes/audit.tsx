/**
 * The audit log page and its CSV export. Everyone signed in may open them; what each viewer
 * sees is decided here on the server (see {@link AuditScope}), never by the filters.
 */
import { Hono } from "hono";
import * as z from "zod";
import { isReasonCode, REASON_CODES } from "../core/outcomes.ts";
import { receiptEnding } from "../core/consent_receipt.ts";
import { reasonText } from "../core/texts.ts";
import { csvStream } from "../lib/csv.ts";
import type { CurrentUser } from "../services/accounts.ts";
import {
  actorName,
  apiTokenActor,
  type AuditEntry,
  type AuditFilter,
  type AuditLog,
  type AuditReach,
  type DepartmentScope,
  oversees,
  type SessionTimeline,
} from "../services/audit_log.ts";
import type { AuditChain } from "../services/audit_chain.ts";
import { canSee } from "../services/devices.ts";
import {
  type AuditEntryModel,
  type AuditFilters,
  AuditList,
  type AuditListModel,
  AuditPage,
  type AuditPageModel,
} from "../views/AuditPage.tsx";
import { actionChoices, actionLabel, outcomeLabel } from "../views/audit_labels.ts";
import { auditSentences } from "../core/audit_vocabulary.ts";
import {
  sessionStateText,
  type SessionTimelineModel,
  SessionTimelinePage,
} from "../views/SessionTimelinePage.tsx";
import type { ConsentReceipt } from "../core/consent_receipt.ts";
import { chainStatusModel } from "./audit_integrity.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith } from "./forms.ts";
import { requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * A YYYY-MM-DD day or YYYY-MM-DDTHH:MM minute read as UTC wall time: its start and its length,
 * or null when it is not a real calendar time.
 */
function wallTime(value: string): { start: number; length: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/.exec(value);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi] = [Number(m[4] ?? 0), Number(m[5] ?? 0)];
  if (h > 23 || mi > 59) return null;
  const at = Date.UTC(y, mo - 1, d, h, mi);
  // Date.UTC rolls 2026-02-30 over into March; a real date survives the round trip.
  const back = new Date(at);
  const real = back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d;
  return real ? { start: at, length: m[4] === undefined ? DAY_MS : MINUTE_MS } : null;
}

function moment(label: string) {
  return z.string().trim().default("")
    .refine(
      (v) => v === "" || wallTime(v) !== null,
      `${label} must be a date like 2026-11-21 or a time like 2026-11-21T14:30`,
    );
}

function id(label: string) {
  return z.string().trim().max(100, `${label} must be at most 100 characters`).default("");
}

export const AuditQuery = z.object({
  device: id("Device"),
  technician: id("Technician"),
  outcome: z.enum(["", ...REASON_CODES], { error: "Outcome must be one of the listed outcomes" })
    .default(""),
  action: z.string().trim().max(100, "Action must be at most 100 characters")
    .regex(
      /^([a-z][a-z_]*(\.[a-z_]+)*\.?)?$/,
      "Action must be an action such as confirmation.accepted or a family such as confirmation.",
    ).default(""),
  session: id("Session"),
  from: moment("From"),
  to: moment("To"),
  tz: z.preprocess(
    (v) => v === "" ? undefined : v,
    z.coerce.number({ error: "The time zone offset must be a number of minutes" })
      .int("The time zone offset must be whole minutes")
      .min(-840, "The time zone offset must be within 14 hours")
      .max(840, "The time zone offset must be within 14 hours").optional(),
  ),
  before: z.preprocess(
    (v) => v === "" ? undefined : v,
    z.coerce.number({ error: "The page cursor must be a number" })
      .int("The page cursor must be a whole number").min(1, "The page cursor must be positive")
      .max(Number.MAX_SAFE_INTEGER, "The page cursor is too large").optional(),
  ),
}).refine(
  (q) => q.from === "" || q.to === "" || wallTime(q.from)!.start <= wallTime(q.to)!.start,
  { message: "The from time must not be after the to time" },
);

/** A parsed audit query with the viewer's scope. */
export interface AuditRequest {
  user: CurrentUser;
  departments: string[] | "all";
  managed: DepartmentScope;
  filters: AuditFilters;
  filter: AuditFilter;
}

/** Parses the audit filters of a request (400 on bad input) and applies the viewer's scope. */
export async function readAuditRequest(c: Ctx): Promise<AuditRequest> {
  const parsed = parseWith(AuditQuery, c.req.query());
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const q = parsed.data;
  const user = currentUser(c);
  const { scope, departments, managed } = await c.get("services").audit.reach(user);
  const filter: AuditFilter = { scope };
  if (q.device) filter.deviceId = q.device;
  if (q.technician) filter.technicianId = q.technician;
  if (q.outcome) filter.outcome = q.outcome;
  if (q.action) filter.action = q.action;
  if (q.session) filter.sessionId = q.session;
  // Wall times are the viewer's: getTimezoneOffset() minutes behind UTC, none without a script.
  const offset = (q.tz ?? 0) * MINUTE_MS;
  if (q.from) filter.from = wallTime(q.from)!.start + offset;
  if (q.to) {
    const to = wallTime(q.to)!;
    filter.to = to.start + to.length + offset;
  }
  if (q.before !== undefined) filter.before = q.before;
  const filters = {
    ...q,
    from: asInputValue(q.from, "00:00"),
    to: asInputValue(q.to, "23:59"),
    tz: q.tz === undefined ? "" : String(q.tz),
    before: q.before ?? null,
  };
  return { user, departments, managed, filters, filter };
}

/** A day as the datetime-local field shows it: at the start or the end of the day. */
function asInputValue(value: string, time: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T${time}` : value;
}

async function listModel(audit: AuditLog, r: AuditRequest): Promise<AuditListModel> {
  const page = await audit.search(r.filter);
  return {
    entries: page.entries.map((e) => entryModel(e, r.user, r.departments, r.managed)),
    filters: r.filters,
    nextBefore: page.nextBefore,
  };
}

/** One event as a page shows it: names, sentences and links the viewer may follow. */
export function entryModel(
  e: AuditEntry,
  user: CurrentUser,
  departments: string[] | "all",
  managed: DepartmentScope,
): AuditEntryModel {
  const deviceVisible = e.device_department_id !== null &&
    canSee(departments, e.device_department_id);
  const sessionVisible = e.session_id !== null && oversees(user, managed, {
    technicianId: e.session_technician_id,
    departmentId: e.device_department_id,
  });
  return {
    id: e.id,
    seq: e.seq,
    at: e.at,
    action: e.action,
    actionLabel: actionLabel(e.action),
    outcome: e.outcome,
    outcomeText: e.outcome !== null && isReasonCode(e.outcome) ? reasonText(e.outcome) : null,
    who: actorName(e),
    device: e.device_id === null ? null : {
      name: e.device_name ?? "A removed device",
      href: deviceVisible ? `/devices/${encodeURIComponent(e.device_id)}` : null,
    },
    session: e.session_id === null ? null : {
      id: e.session_id,
      href: sessionVisible ? `/audit/sessions/${encodeURIComponent(e.session_id)}` : null,
    },
    attemptId: e.attempt_id,
    sentences: auditSentences(e.action, parseDetail(e.detail)),
    receiptHref: sessionVisible ? receiptHref(e) : null,
  };
}

// The receipt's own page checks access again; this only spares a link the viewer cannot follow.
function receiptHref(e: AuditEntry): string | null {
  if (e.action !== "receipt.issued" || e.session_id === null) return null;
  const detail = parseDetail(e.detail) as { receiptId?: unknown } | null;
  const id = detail?.receiptId;
  return typeof id === "string"
    ? `/sessions/${encodeURIComponent(e.session_id)}/receipts/${encodeURIComponent(id)}`
    : null;
}

/** The label recorded with the event wins in the export: what the actor was called then. */
function exportedActor(e: AuditEntry): string | null {
  const actor = e.actor_label ?? e.actor_name ?? e.actor_id;
  return e.api_token_name === null
    ? actor
    : apiTokenActor(e.api_token_name, actor ?? "a removed user");
}

function parseDetail(detail: string | null): unknown {
  if (detail === null) return null;
  try {
    return JSON.parse(detail);
  } catch {
    return detail;
  }
}

async function pageModel(
  audit: AuditLog,
  auditChain: AuditChain,
  r: AuditRequest,
): Promise<AuditPageModel> {
  const [list, { devices, people }, chain] = await Promise.all([
    listModel(audit, r),
    audit.choices(r.user, r),
    r.user.role === "technician" ? null : auditChain.recentStatus(),
  ]);
  return {
    ...list,
    chain: chain ? chainStatusModel(chain) : null,
    choices: {
      devices: devices?.map((d) => ({ value: d.id, label: d.name })) ?? null,
      technicians: people.map((u) => ({ value: u.id, label: `${u.name} (${u.email})` })),
      outcomes: REASON_CODES.map((code) => ({ value: code, label: outcomeLabel(code) })),
      actions: actionChoices(),
    },
  };
}

/** Columns of the CSV export, in order. */
const CSV_HEADER = [
  "time",
  "action",
  "outcome",
  "actor_kind",
  "actor",
  "device_id",
  "device_name",
  "session_id",
  "attempt_id",
  "department",
  "detail",
];

function csvFields(e: AuditEntry): (string | null)[] {
  return [
    new Date(e.at).toISOString(),
    e.action,
    e.outcome,
    e.actor_kind,
    exportedActor(e),
    e.device_id,
    e.device_name,
    e.session_id,
    e.attempt_id,
    e.department_name ?? e.department_id,
    e.detail,
  ];
}

function wantsPartial(c: Ctx): boolean {
  // A history restore after a cache miss asks for the whole page, not the list.
  return c.req.header("HX-Request") === "true" && c.req.header("HX-Boosted") !== "true" &&
    c.req.header("HX-History-Restore-Request") !== "true";
}

/** /audit (page, or the list alone for htmx) and /audit.csv (the same filters, every row). */
export function auditRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/audit", requireUser());
  app.use("/audit.csv", requireUser());
  app.use("/audit/sessions/*", requireUser());

  // A session's story: for the technician who held it, admins of its device's department and
  // super admins; anyone else finds nothing.
  app.get("/audit/sessions/:id", async (c) => {
    const { audit } = c.get("services");
    const user = currentUser(c);
    const timeline = await audit.timeline(user, c.req.param("id"));
    if (!timeline) throw new HttpError(404, "There is no such support session");
    const receipts = await c.get("services").receipts.ofSession(timeline.session.id);
    const model = timelineModel(timeline, receipts, user, await audit.reach(user));
    return render(c, <SessionTimelinePage model={model} />);
  });

  app.get("/audit", async (c) => {
    const r = await readAuditRequest(c);
    const { audit, auditChain } = c.get("services");
    if (wantsPartial(c)) return renderPartial(c, <AuditList model={await listModel(audit, r)} />);
    return render(c, <AuditPage model={await pageModel(audit, auditChain, r)} />);
  });

  app.get("/audit.csv", async (c) => {
    const r = await readAuditRequest(c);
    const { audit, clock, log } = c.get("services");
    // The export is the whole result, not the page being looked at.
    const { before: _, ...filter } = r.filter;
    const date = new Date(clock.now()).toISOString().slice(0, 10).replaceAll("-", "");
    const body = csvStream(
      CSV_HEADER,
      audit.stream(filter),
      csvFields,
      (err) => log.error("audit export failed", { err, user: r.user.id }),
    );
    return c.body(body, 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="assent-audit-${date}.csv"`,
      "Cache-Control": "no-store",
    });
  });

  return app;
}

/** A session's story as its page shows it, within what `user` may follow from it. */
function timelineModel(
  timeline: SessionTimeline,
  receipts: ConsentReceipt[],
  user: CurrentUser,
  { departments, managed }: AuditReach,
): SessionTimelineModel {
  const s = timeline.session;
  const deviceVisible = s.department_id !== null && canSee(departments, s.department_id);
  return {
    id: s.id,
    device: {
      name: s.device_name ?? "A removed device",
      href: deviceVisible ? `/devices/${encodeURIComponent(s.device_id)}` : null,
    },
    technician: s.technician_name ?? "A removed user",
    openedAt: s.opened_at,
    state: sessionStateText(s.status),
    events: timeline.events.map((e) => entryModel(e, user, departments, managed)),
    truncated: timeline.truncated,
    recordings: timeline.recordings.map((r) => ({
      href: `/recordings/${encodeURIComponent(r.id)}`,
      startedAt: r.started_at,
      ended: r.ended_at !== null,
      deleted: r.deleted_at !== null,
    })),
    receipts: receipts.map((r) => ({
      href: `/sessions/${encodeURIComponent(s.id)}/receipts/${encodeURIComponent(r.id)}`,
      endedAt: r.endedAt,
      ending: receiptEnding(r.outcome),
    })),
  };
}
