/**
 * The audit log page and its CSV export. Everyone signed in may open them; what each viewer
 * sees is decided here on the server (see {@link AuditScope}), never by the filters.
 */
import { Hono } from "hono";
import { z } from "zod";
import { isReasonCode, REASON_CODES } from "../core/outcomes.ts";
import { reasonText } from "../core/texts.ts";
import { csvStream } from "../lib/csv.ts";
import type { CurrentUser } from "../services/accounts.ts";
import type { AuditEntry, AuditFilter, AuditLog } from "../services/audit_log.ts";
import { canSee } from "../services/devices.ts";
import {
  type AuditEntryModel,
  type AuditFilters,
  AuditList,
  type AuditListModel,
  AuditPage,
  type AuditPageModel,
} from "../views/AuditPage.tsx";
import { actionChoices, actionLabel, actorKindLabel, outcomeLabel } from "../views/audit_labels.ts";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith } from "./forms.ts";
import { requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";

const DAY_MS = 86_400_000;

/** Midnight UTC of a YYYY-MM-DD date, or null when it is not a real calendar day. */
function dayStart(value: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const at = Date.UTC(y, mo - 1, d);
  // Date.UTC rolls 2026-02-30 over into March; a real date survives the round trip.
  const back = new Date(at);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d
    ? at
    : null;
}

function day(label: string) {
  return z.string().trim().default("")
    .refine((v) => v === "" || dayStart(v) !== null, `${label} must be a date like 2026-11-21`);
}

function id(label: string) {
  return z.string().trim().max(100, `${label} must be at most 100 characters`).default("");
}

const AuditQuery = z.object({
  device: id("Device"),
  technician: id("Technician"),
  outcome: z.enum(["", ...REASON_CODES], { error: "Outcome must be one of the listed outcomes" })
    .default(""),
  action: z.string().trim().max(100, "Action must be at most 100 characters")
    .regex(
      /^([a-z][a-z_]*(\.[a-z_]+)*\.?)?$/,
      "Action must be an action such as confirmation.accepted or a family such as confirmation.",
    ).default(""),
  from: day("From"),
  to: day("To"),
  before: z.preprocess(
    (v) => v === "" ? undefined : v,
    z.coerce.number({ error: "The page cursor must be a number" })
      .int("The page cursor must be a whole number").min(1, "The page cursor must be positive")
      .max(Number.MAX_SAFE_INTEGER, "The page cursor is too large").optional(),
  ),
}).refine((q) => q.from === "" || q.to === "" || q.from <= q.to, {
  message: "The from date must not be after the to date",
});

/** A parsed audit query with the viewer's scope. */
export interface AuditRequest {
  user: CurrentUser;
  departments: string[] | "all";
  filters: AuditFilters;
  filter: AuditFilter;
}

/** Parses the audit filters of a request (400 on bad input) and applies the viewer's scope. */
export async function readAuditRequest(c: Ctx): Promise<AuditRequest> {
  const parsed = parseWith(AuditQuery, c.req.query());
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const q = parsed.data;
  const user = currentUser(c);
  const { scope, departments } = await c.get("services").audit.reach(user);
  const filter: AuditFilter = { scope };
  if (q.device) filter.deviceId = q.device;
  if (q.technician) filter.technicianId = q.technician;
  if (q.outcome) filter.outcome = q.outcome;
  if (q.action) filter.action = q.action;
  if (q.from) filter.from = dayStart(q.from)!;
  if (q.to) filter.to = dayStart(q.to)! + DAY_MS;
  if (q.before !== undefined) filter.before = q.before;
  const filters = { ...q, before: q.before ?? null };
  return { user, departments, filters, filter };
}

async function listModel(audit: AuditLog, r: AuditRequest): Promise<AuditListModel> {
  const page = await audit.search(r.filter);
  return {
    entries: page.entries.map((e) => entryModel(e, r.departments)),
    filters: r.filters,
    nextBefore: page.nextBefore,
  };
}

function entryModel(e: AuditEntry, departments: string[] | "all"): AuditEntryModel {
  const deviceVisible = e.device_department_id !== null &&
    canSee(departments, e.device_department_id);
  return {
    id: e.id,
    at: e.at,
    action: e.action,
    actionLabel: actionLabel(e.action),
    outcome: e.outcome,
    outcomeText: e.outcome !== null && isReasonCode(e.outcome) ? reasonText(e.outcome) : null,
    who: actorName(e),
    whoKind: actorKindLabel(e.actor_kind),
    device: e.device_id === null ? null : {
      name: e.device_name ?? e.device_id,
      href: deviceVisible ? `/devices/${encodeURIComponent(e.device_id)}` : null,
    },
    sessionId: e.session_id,
    attemptId: e.attempt_id,
    details: detailPairs(e.detail),
  };
}

/** The label recorded with the event wins: it is what the actor was called at the time. */
function actorName(e: AuditEntry): string | null {
  return e.actor_label ?? e.actor_name ?? e.actor_id;
}

function detailPairs(detail: string | null): { key: string; value: string }[] {
  if (detail === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(detail);
  } catch {
    return [{ key: "detail", value: detail }];
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return [{ key: "detail", value: detail }];
  }
  return Object.entries(parsed).map(([key, value]) => ({
    key,
    value: typeof value === "string" ? value : JSON.stringify(value) ?? "",
  }));
}

async function pageModel(audit: AuditLog, r: AuditRequest): Promise<AuditPageModel> {
  const [list, { devices, people }] = await Promise.all([
    listModel(audit, r),
    audit.choices(r.user, r),
  ]);
  return {
    ...list,
    choices: {
      devices: devices.map((d) => ({ value: d.id, label: d.name })),
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
    actorName(e),
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

  app.get("/audit", async (c) => {
    const r = await readAuditRequest(c);
    const { audit } = c.get("services");
    if (wantsPartial(c)) return renderPartial(c, <AuditList model={await listModel(audit, r)} />);
    return render(c, <AuditPage model={await pageModel(audit, r)} />);
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
