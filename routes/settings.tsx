/**
 * Department settings (R2–R4): Session Confirmation, Secure Connect, the authorization
 * lifetime and what file transfer may reach, with their exclusions. Admins configure the departments they belong to, super
 * admins every one; only super admins change Secure Connect. Every change is audited with
 * the fields it changed, in the transaction that saves it.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  authorizationPolicy,
  changeSecureConnect,
  CONFIRMATION_MESSAGE_LABEL,
  CONFIRMATION_TIMEOUT_LABEL,
  confirmationPolicy,
  type ConsentCapability,
  describePathProblem,
  fileTransferPolicy,
  isCoreError,
  parseReachPath,
  POLICY_LIMITS,
  REAUTHENTICATION_TIME_LABEL,
  recordingPolicy,
  type SecureConnectPolicy,
} from "../core/mod.ts";
import type { CurrentUser } from "../services/accounts.ts";
import { canSee, visibleDepartments } from "../services/devices.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { findDepartment, listDepartments } from "../store/departments.ts";
import {
  type DeviceGroupRow,
  type DeviceRow,
  findDevice,
  findGroup,
  listDevices,
  listGroups,
} from "../store/devices.ts";
import {
  addExclusion,
  type DepartmentPolicies,
  type Exclusion,
  listExclusions,
  loadPolicies,
  removeExclusion,
  savePolicies,
} from "../store/policies.ts";
import { SettingsListPage } from "../views/SettingsListPage.tsx";
import {
  AUTHORIZATION_LIFETIME_LABEL,
  type ExclusionRow,
  SettingsPage,
  type SettingsPageModel,
  type SettingsPart,
} from "../views/SettingsPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { checkbox, readForm, text } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const PARTS: readonly SettingsPart[] = [
  "confirmation",
  "confirmation-exclusions",
  "secure-connect",
  "secure-connect-exclusions",
  "authorization",
  "file-transfer",
  "agent-updates",
  "recording",
];

/** A whole number within `range`; the message names the field and the range. */
function wholeNumber(label: string, range: { min: number; max: number }) {
  const rule = `${label} must be a whole number from ${range.min} to ${range.max}`;
  return z.string({ error: `${label} is required` }).trim()
    .min(1, `${label} is required`)
    .regex(/^\d+$/, rule)
    .transform(Number)
    .pipe(z.number().int().min(range.min, rule).max(range.max, rule));
}

const ConfirmationForm = z.object({
  enabled: checkbox(),
  // Browsers send textarea line breaks as CRLF; the agent shows the message as typed.
  message: z.preprocess(
    (v) => typeof v === "string" ? v.replace(/\r\n?/g, "\n") : v,
    text(CONFIRMATION_MESSAGE_LABEL, POLICY_LIMITS.confirmationMessageLength.max),
  ),
  timeoutSeconds: wholeNumber(
    CONFIRMATION_TIMEOUT_LABEL,
    POLICY_LIMITS.confirmationTimeoutSeconds,
  ),
  showOnLockedAndLoggedOff: checkbox(),
  mode: z.enum(["confirm", "notify"], {
    error: "Choose whether the end user is asked or only told",
  }).optional(),
  nobodyToAsk: z.enum(["proceed", "refuse"], {
    error: "Choose whether to connect or refuse when nobody can be asked",
  }).optional(),
  // Present when the form shows the consent fields, so a form without them changes none of them.
  consentFields: z.string().max(10).optional(),
  capabilities: z.union([z.string().max(40), z.array(z.string().max(40)).max(8)]).optional(),
  offerWindows: checkbox(),
});

/** The consent field a refusal is about, so the page shows it beside that field. */
function consentFieldError(message: string) {
  const field = message.match(/^Invalid (capabilities|mode|nobodyToAsk)\b/)?.[1] ??
    (/asked or only told/.test(message)
      ? "mode"
      : /nobody can be asked/.test(message)
      ? "nobodyToAsk"
      : null);
  return field ? { field: field as "capabilities" | "mode" | "nobodyToAsk", message } : undefined;
}

/** What the confirmation form changes: only the consent fields it shows. */
function confirmationInput(data: z.infer<typeof ConfirmationForm>) {
  const { consentFields, capabilities, offerWindows, mode, nobodyToAsk, ...rest } = data;
  return {
    ...rest,
    ...(mode ? { mode } : {}),
    ...(nobodyToAsk ? { nobodyToAsk } : {}),
    ...(consentFields
      ? { capabilities: [capabilities ?? []].flat() as ConsentCapability[], offerWindows }
      : {}),
  };
}

const SecureConnectForm = z.object({
  enabled: checkbox(),
  reauthenticationMinutes: wholeNumber(
    REAUTHENTICATION_TIME_LABEL,
    POLICY_LIMITS.reauthenticationMinutes,
  ),
  requireMfaForAll: checkbox(),
});

const AuthorizationForm = z.object({
  lifetimeMinutes: wholeNumber(
    AUTHORIZATION_LIFETIME_LABEL,
    POLICY_LIMITS.authorizationLifetimeMinutes,
  ),
  requireReason: checkbox(),
});

const AgentUpdatesForm = z.object({
  // A checkbox sends "on" or nothing; anything else is a forged or broken form, not a release.
  hold: z.preprocess(
    (v) => v === undefined ? false : v === "on" || v === "true" || v === "1" ? true : v,
    z.boolean({ error: "Hold agent updates can only be ticked or left empty" }),
  ),
});

const RecordingForm = z.object({
  terminal: checkbox(),
  retentionDays: wholeNumber("Keep recordings for", POLICY_LIMITS.recordingRetentionDays),
});

const FileTransferForm = z.object({
  userHomes: checkbox(),
  paths: z.string().max(40_000, "The list of folders is too long").default(""),
});

/**
 * The folders typed one per line, each checked: their plain forms, or what is wrong with the
 * first bad line, in words tied to the field.
 */
function reachPaths(text: string): { ok: true; paths: string[] } | { ok: false; message: string } {
  const paths: string[] = [];
  const lines = text.split(/\r\n?|\n/);
  for (const [i, line] of lines.entries()) {
    if (line.trim() === "") continue;
    const parsed = parseReachPath(line);
    if (!parsed.ok) {
      const shown = line.trim().length > 80 ? `${line.trim().slice(0, 80)}…` : line.trim();
      return {
        ok: false,
        message: `Line ${i + 1}: "${shown}" ${describePathProblem(parsed.problem)}`,
      };
    }
    paths.push(parsed.path);
  }
  const max = POLICY_LIMITS.fileTransferPaths.max;
  if (new Set(paths).size > max) return { ok: false, message: `List at most ${max} folders` };
  return { ok: true, paths };
}

const PolicyChoice = z.object({
  policy: z.enum(["confirmation", "secure_connect"], {
    error: "Choose Session Confirmation or Secure Connect",
  }),
});

const TargetForm = z.object({
  target: z.string({ error: "Choose a device or group" })
    .regex(/^(device|group):[^\s:]{1,100}$/, "Choose a device or group")
    .transform((v) => {
      const [kind, id] = v.split(":") as ["device" | "group", string];
      return { kind, id };
    }),
});

/** A department the viewer may configure, as the pages show it. */
interface Department {
  id: string;
  name: string;
  disabled: boolean;
}

function auditActor(user: CurrentUser) {
  return { kind: "user" as const, id: user.id, label: user.email };
}

function secureConnectActor(user: CurrentUser) {
  return { role: user.role, mfaEnrolled: user.mfaEnabled };
}

function partOf(policy: Exclusion["policy"]): SettingsPart {
  return policy === "confirmation" ? "confirmation-exclusions" : "secure-connect-exclusions";
}

// Departments the viewer cannot see answer 404, like ones that do not exist, so ids do not leak.
async function loadDepartment(c: Ctx): Promise<Department> {
  const db = c.get("services").db;
  const id = c.req.param("departmentId") ?? "";
  const visible = await visibleDepartments(db, currentUser(c));
  const found = canSee(visible, id) ? await findDepartment(db, id) : undefined;
  if (!found) throw new HttpError(404, "No such department");
  return { id: found.id, name: found.name, disabled: found.disabled_at !== null };
}

/** Maps core's refusals to answers; anything core did not refuse stays an error. */
function refusal(err: unknown): HttpError {
  if (isCoreError(err) && err.code === "forbidden") return new HttpError(403, err.message);
  if (isCoreError(err) && err.code === "invalid_policy") return new HttpError(400, err.message);
  throw err;
}

/** An invalid policy re-renders the form through `fail`; other refusals answer on their own. */
async function failWith(
  err: unknown,
  fail: (message: string) => Promise<Response>,
): Promise<Response> {
  const refused = refusal(err);
  if (refused.status !== 400) throw refused;
  return await fail(refused.message);
}

// Core owns the rule of who may change Secure Connect; an empty change asks it without changing
// anything, so the role is refused before any form problem is reported.
function mayChangeSecureConnect(policy: SecureConnectPolicy, user: CurrentUser): boolean {
  try {
    changeSecureConnect(policy, {}, secureConnectActor(user));
    return true;
  } catch (err) {
    if (isCoreError(err) && err.code === "forbidden") return false;
    throw err;
  }
}

async function assertMayChangeSecureConnect(c: Ctx, departmentId: string): Promise<void> {
  const policies = await loadPolicies(c.get("services").db, departmentId);
  try {
    changeSecureConnect(policies.secureConnect, {}, secureConnectActor(currentUser(c)));
  } catch (err) {
    throw refusal(err);
  }
}

/** Each changed field as `{ field: "from → to" }`; empty when nothing changed. */
function changedFields<T extends object>(
  before: T,
  after: T,
  fields: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const from = (before as Record<string, unknown>)[field];
    const to = (after as Record<string, unknown>)[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) out[field] = `${String(from)} → ${String(to)}`;
  }
  return out;
}

/** Names, OS and addresses of a department's devices and groups, for tables and the audit. */
interface Targets {
  devices: Map<string, DeviceRow>;
  groups: Map<string, DeviceGroupRow>;
}

async function loadTargets(db: Db, departmentId: string): Promise<Targets> {
  const [devices, groups] = await Promise.all([
    listDevices(db, [departmentId]),
    listGroups(db, [departmentId]),
  ]);
  return {
    devices: new Map(devices.map((d) => [d.id, d])),
    groups: new Map(groups.map((g) => [g.id, g])),
  };
}

function ipAddresses(json: string): string[] {
  try {
    const value = JSON.parse(json);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

// An exclusion outlives a device moved to another department or deleted, so a target missing
// from this department is looked up on its own, and one that is gone says so.
async function describe(
  db: Db,
  targets: Targets,
  e: Pick<Exclusion, "targetKind" | "targetId">,
): Promise<{ name: string; os: string; ip: string }> {
  if (e.targetKind === "group") {
    const group = targets.groups.get(e.targetId) ?? await findGroup(db, e.targetId);
    return { name: group?.name ?? `Deleted group ${e.targetId}`, os: "-", ip: "-" };
  }
  const device = targets.devices.get(e.targetId) ?? await findDevice(db, e.targetId);
  if (!device) return { name: `Deleted device ${e.targetId}`, os: "-", ip: "-" };
  const ips = ipAddresses(device.ip_addresses);
  return { name: device.name, os: device.os ?? "-", ip: ips.length > 0 ? ips.join(", ") : "-" };
}

/** What a re-rendered page keeps from the request: the typed values and the error. */
interface PageState {
  errors?: Partial<Record<SettingsPart, string>>;
  confirmation?: Partial<SettingsPageModel["confirmation"]>;
  secureConnect?: Partial<SettingsPageModel["secureConnect"]>;
  authorization?: SettingsPageModel["authorization"];
  fileTransfer?: SettingsPageModel["fileTransfer"];
  agentUpdates?: { held: boolean };
  recording?: SettingsPageModel["recording"];
  saved?: SettingsPart | null;
}

async function settingsPage(
  c: Ctx,
  department: Department,
  state: PageState = {},
  status: 200 | 400 = 200,
): Promise<Response> {
  const db = c.get("services").db;
  const viewer = currentUser(c);
  const [policies, exclusions, targets] = await Promise.all([
    loadPolicies(db, department.id),
    listExclusions(db, department.id),
    loadTargets(db, department.id),
  ]);
  const rows = async (policy: Exclusion["policy"]): Promise<ExclusionRow[]> =>
    await Promise.all(
      exclusions.filter((e) => e.policy === policy).map(async (e) => ({
        id: e.id,
        kind: e.targetKind,
        excludedBy: e.excludedBy,
        ...await describe(db, targets, e),
      })),
    );
  const notExcluded = (policy: Exclusion["policy"], kind: Exclusion["targetKind"]) => {
    const taken = new Set(
      exclusions.filter((e) => e.policy === policy && e.targetKind === kind).map((e) => e.targetId),
    );
    return (id: string) => !taken.has(id);
  };
  const deviceOptions = (policy: Exclusion["policy"]) =>
    [...targets.devices.values()].filter((d) => notExcluded(policy, "device")(d.id)).map((d) => {
      const ip = ipAddresses(d.ip_addresses)[0];
      return { value: `device:${d.id}`, label: ip ? `${d.name} (${ip})` : d.name };
    });
  const c1 = policies.confirmation;
  const sc = policies.secureConnect;
  const editable = mayChangeSecureConnect(sc, viewer);
  const saved = c.req.query("saved");
  const updates = c.get("services").updates;
  const model: SettingsPageModel = {
    agentUpdates: {
      held: await updates.isHeld(department.id),
      shipped: await updates.shippedVersion(),
      ...state.agentUpdates,
    },
    department,
    confirmation: {
      enabled: c1.enabled,
      message: c1.message,
      timeoutSeconds: String(c1.timeoutSeconds),
      showOnLockedAndLoggedOff: c1.showOnLockedAndLoggedOff,
      mode: c1.mode === "notify" ? "notify" : "confirm",
      capabilities: c1.capabilities,
      nobodyToAsk: c1.nobodyToAsk,
      offerWindows: c1.offerWindows,
      exclusions: await rows("confirmation"),
      devices: deviceOptions("confirmation"),
      groups: [...targets.groups.values()].filter((g) => notExcluded("confirmation", "group")(g.id))
        .map((g) => ({ value: `group:${g.id}`, label: g.name })),
      ...state.confirmation,
    },
    secureConnect: {
      editable,
      needsOwnMfa: editable && !viewer.mfaEnabled,
      enabled: sc.enabled,
      reauthenticationMinutes: String(sc.reauthenticationMinutes),
      requireMfaForAll: sc.requireMfaForAll,
      exclusions: await rows("secure_connect"),
      devices: deviceOptions("secure_connect"),
      ...state.secureConnect,
    },
    authorization: state.authorization ??
      {
        lifetimeMinutes: String(policies.authorization.lifetimeMinutes),
        requireReason: policies.authorization.requireReason === true,
      },
    fileTransfer: state.fileTransfer ?? {
      userHomes: policies.fileTransfer.userHomes,
      paths: policies.fileTransfer.paths.join("\n"),
    },
    recording: state.recording ?? {
      terminal: policies.recording.terminal,
      retentionDays: String(policies.recording.retentionDays),
    },
    errors: state.errors ?? {},
    saved: state.saved ??
      (PARTS.includes(saved as SettingsPart) ? saved as SettingsPart : null),
  };
  return render(c, <SettingsPage model={model} />, status);
}

/** The submitted fields as typed, to show them again next to the error. */
async function typed(c: Ctx): Promise<Record<string, string>> {
  try {
    const body = await c.req.parseBody();
    return Object.fromEntries(
      Object.entries(body).filter(([, v]) => typeof v === "string") as [string, string][],
    );
  } catch {
    return {};
  }
}

function isOn(value: string | undefined): boolean {
  return value === "on" || value === "true" || value === "1";
}

function backTo(c: Ctx, department: Department, part: SettingsPart): Response {
  return c.redirect(`/settings/${department.id}?saved=${part}#${part}`, 303);
}

/**
 * Loads the policies, lets `decide` derive the new ones (it may throw core's refusals) and, when
 * a field changed, saves them and audits `{ field: "from → to" }`, all in one transaction so a
 * concurrent save of another section is not lost.
 */
async function updatePolicies(
  c: Ctx,
  department: Department,
  action: "policy.changed" | "secure_connect.policy_changed",
  decide: (current: DepartmentPolicies) => {
    next: DepartmentPolicies;
    changes: Record<string, string>;
  },
): Promise<void> {
  const { db, clock } = c.get("services");
  const viewer = currentUser(c);
  await db.transaction().execute(async (trx) => {
    const { next, changes } = decide(await loadPolicies(trx, department.id));
    if (Object.keys(changes).length === 0) return;
    const now = clock.now();
    await savePolicies(trx, department.id, next, viewer.email, now);
    await appendAudit(trx, {
      at: now,
      action,
      actor: auditActor(viewer),
      departmentId: department.id,
      detail: changes,
    });
  });
}

/** GET /settings, GET /settings/:departmentId and the POSTs of each section. */
export function settingsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const guard = [requireUser(), requireRole("super_admin", "admin")] as const;
  app.use("/settings", ...guard);
  app.use("/settings/*", ...guard);

  app.get("/settings", async (c) => {
    const db = c.get("services").db;
    const visible = await visibleDepartments(db, currentUser(c));
    const departments = (await listDepartments(db)).filter((d) => canSee(visible, d.id));
    const items = await Promise.all(departments.map(async (d) => {
      const p = await loadPolicies(db, d.id);
      return {
        id: d.id,
        name: d.name,
        disabled: d.disabled_at !== null,
        confirmation: p.confirmation.enabled,
        secureConnect: p.secureConnect.enabled,
        lifetimeMinutes: p.authorization.lifetimeMinutes,
      };
    }));
    return render(c, <SettingsListPage departments={items} />);
  });

  app.get("/settings/:departmentId", async (c) => await settingsPage(c, await loadDepartment(c)));

  app.post("/settings/:departmentId/agent-updates", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, AgentUpdatesForm);
    if (!form.ok) {
      const raw = await typed(c);
      return await settingsPage(c, department, {
        errors: { "agent-updates": form.message },
        agentUpdates: { held: isOn(raw.hold) },
      }, 400);
    }
    await c.get("services").updates.setHeld(department.id, form.data.hold, currentUser(c));
    return backTo(c, department, "agent-updates");
  });

  app.post("/settings/:departmentId/confirmation", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, ConfirmationForm);
    const raw = await typed(c);
    const fail = (message: string) =>
      settingsPage(c, department, {
        errors: { confirmation: message },
        confirmation: {
          enabled: isOn(raw.enabled),
          message: raw.message ?? "",
          timeoutSeconds: raw.timeoutSeconds ?? "",
          showOnLockedAndLoggedOff: isOn(raw.showOnLockedAndLoggedOff),
          mode: raw.mode === "notify" ? "notify" : "confirm",
          nobodyToAsk: raw.nobodyToAsk === "refuse" ? "refuse" : "proceed",
          offerWindows: isOn(raw.offerWindows),
          capabilities: form.ok ? [form.data.capabilities ?? []].flat() : undefined,
          fieldError: consentFieldError(message),
        },
      }, 400);
    if (!form.ok) return await fail(form.message);
    const input = confirmationInput(form.data);
    try {
      await updatePolicies(c, department, "policy.changed", (current) => {
        const next = confirmationPolicy({ ...current.confirmation, ...input });
        return {
          next: { ...current, confirmation: next },
          changes: changedFields(current.confirmation, next, Object.keys(input)),
        };
      });
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, "confirmation");
  });

  app.post("/settings/:departmentId/secure-connect", async (c) => {
    const department = await loadDepartment(c);
    await assertMayChangeSecureConnect(c, department.id);
    const form = await readForm(c, SecureConnectForm);
    const raw = await typed(c);
    const fail = (message: string) =>
      settingsPage(c, department, {
        errors: { "secure-connect": message },
        secureConnect: {
          enabled: isOn(raw.enabled),
          reauthenticationMinutes: raw.reauthenticationMinutes ?? "",
          requireMfaForAll: isOn(raw.requireMfaForAll),
        },
      }, 400);
    if (!form.ok) return await fail(form.message);
    const actor = secureConnectActor(currentUser(c));
    try {
      await updatePolicies(c, department, "secure_connect.policy_changed", (current) => {
        const next = changeSecureConnect(current.secureConnect, form.data, actor);
        return {
          next: { ...current, secureConnect: next },
          changes: changedFields(current.secureConnect, next, Object.keys(form.data)),
        };
      });
    } catch (err) {
      // R3: a super admin without MFA is sent to set it up instead of enabling Secure Connect.
      if (isCoreError(err) && err.code === "mfa_setup_required") {
        return c.redirect("/account/mfa", 303);
      }
      return await failWith(err, fail);
    }
    return backTo(c, department, "secure-connect");
  });

  app.post("/settings/:departmentId/authorization", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, AuthorizationForm);
    const raw = await typed(c);
    const fail = (message: string) =>
      settingsPage(c, department, {
        errors: { authorization: message },
        authorization: {
          lifetimeMinutes: raw.lifetimeMinutes ?? "",
          requireReason: raw.requireReason === "on",
        },
      }, 400);
    if (!form.ok) return await fail(form.message);
    try {
      await updatePolicies(c, department, "policy.changed", (current) => {
        const next = authorizationPolicy({ ...current.authorization, ...form.data });
        const flags = (p: typeof next) => ({ ...p, requireReason: p.requireReason === true });
        return {
          next: { ...current, authorization: next },
          changes: changedFields(
            flags(current.authorization),
            flags(next),
            Object.keys(form.data),
          ),
        };
      });
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, "authorization");
  });

  app.post("/settings/:departmentId/recording", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, RecordingForm);
    const raw = await typed(c);
    const fail = (message: string) =>
      settingsPage(c, department, {
        errors: { recording: message },
        recording: {
          terminal: isOn(raw.terminal) ? "on" : "off",
          retentionDays: raw.retentionDays ?? "",
        },
      }, 400);
    if (!form.ok) return await fail(form.message);
    try {
      await updatePolicies(c, department, "policy.changed", (current) => {
        const next = recordingPolicy({
          terminal: form.data.terminal ? "on" : "off",
          retentionDays: form.data.retentionDays,
        });
        const changes: Record<string, string> = {};
        if (current.recording.terminal !== next.terminal) {
          changes.terminalRecording = `${current.recording.terminal} → ${next.terminal}`;
        }
        if (current.recording.retentionDays !== next.retentionDays) {
          changes.recordingRetentionDays =
            `${current.recording.retentionDays} → ${next.retentionDays}`;
        }
        return { next: { ...current, recording: next }, changes };
      });
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, "recording");
  });

  app.post("/settings/:departmentId/file-transfer", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, FileTransferForm);
    const raw = await typed(c);
    const fail = (message: string) =>
      settingsPage(c, department, {
        errors: { "file-transfer": message },
        fileTransfer: { userHomes: isOn(raw.userHomes), paths: raw.paths ?? "" },
      }, 400);
    if (!form.ok) return await fail(form.message);
    const paths = reachPaths(form.data.paths);
    if (!paths.ok) return await fail(paths.message);
    try {
      await updatePolicies(c, department, "policy.changed", (current) => {
        const before = current.fileTransfer;
        const next = fileTransferPolicy({ userHomes: form.data.userHomes, paths: paths.paths });
        const changes: Record<string, string> = {};
        if (before.userHomes !== next.userHomes) {
          changes.fileTransferUserHomes = `${before.userHomes} → ${next.userHomes}`;
        }
        const list = (p: string[]) => p.length === 0 ? "none" : p.join(", ");
        if (list(before.paths) !== list(next.paths)) {
          changes.fileTransferPaths = `${list(before.paths)} → ${list(next.paths)}`;
        }
        return { next: { ...current, fileTransfer: next }, changes };
      });
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, "file-transfer");
  });

  app.post("/settings/:departmentId/exclusions", async (c) => {
    const department = await loadDepartment(c);
    const choice = await readForm(c, PolicyChoice);
    if (!choice.ok) throw new HttpError(400, choice.message);
    const policy = choice.data.policy;
    if (policy === "secure_connect") await assertMayChangeSecureConnect(c, department.id);
    const part = partOf(policy);
    const fail = (message: string) =>
      settingsPage(c, department, { errors: { [part]: message } }, 400);
    const form = await readForm(c, TargetForm);
    if (!form.ok) return await fail(form.message);
    const { kind, id } = form.data.target;
    if (policy === "secure_connect" && kind === "group") {
      return await fail("Secure Connect exclusions can only be devices");
    }
    const { db, clock } = c.get("services");
    const target = kind === "device" ? await findDevice(db, id) : await findGroup(db, id);
    if (!target || target.department_id !== department.id) {
      return await fail(`Choose a ${kind} of this department`);
    }
    const viewer = currentUser(c);
    const now = clock.now();
    let added: boolean;
    try {
      added = await db.transaction().execute(async (trx) => {
        // The constructors check the new list as they would any policy; for Secure Connect core
        // also checks the role again.
        const current = await loadPolicies(trx, department.id);
        if (policy === "secure_connect") {
          const ids = [...current.secureConnect.excludedDeviceIds, id];
          changeSecureConnect(
            current.secureConnect,
            { excludedDeviceIds: ids },
            secureConnectActor(viewer),
          );
        } else {
          const list = kind === "device" ? "excludedDeviceIds" : "excludedGroupIds";
          confirmationPolicy({
            ...current.confirmation,
            [list]: [...current.confirmation[list], id],
          });
        }
        const fresh = await addExclusion(trx, {
          departmentId: department.id,
          policy,
          targetKind: kind,
          targetId: id,
          by: viewer.email,
          now,
        });
        if (!fresh) return false;
        await appendAudit(trx, {
          at: now,
          action: "policy.exclusion_added",
          actor: auditActor(viewer),
          departmentId: department.id,
          deviceId: kind === "device" ? id : null,
          detail: { policy, kind, target: target.name },
        });
        return true;
      });
    } catch (err) {
      return await failWith(err, fail);
    }
    if (!added) return await fail(`"${target.name}" is already excluded`);
    return backTo(c, department, part);
  });

  app.post("/settings/:departmentId/exclusions/:id/remove", async (c) => {
    const department = await loadDepartment(c);
    const { db, clock } = c.get("services");
    const param = c.req.param("id");
    const id = /^\d{1,15}$/.test(param) ? Number(param) : NaN;
    const exclusion = (await listExclusions(db, department.id)).find((e) => e.id === id);
    if (!exclusion) throw new HttpError(404, "No such exclusion");
    if (exclusion.policy === "secure_connect") {
      await assertMayChangeSecureConnect(c, department.id);
    }
    const { name } = await describe(db, await loadTargets(db, department.id), exclusion);
    const viewer = currentUser(c);
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      // A second click (or another admin) may have removed it already: nothing left to audit.
      if (!await removeExclusion(trx, department.id, exclusion.id)) return;
      await appendAudit(trx, {
        at: now,
        action: "policy.exclusion_removed",
        actor: auditActor(viewer),
        departmentId: department.id,
        deviceId: exclusion.targetKind === "device" ? exclusion.targetId : null,
        detail: { policy: exclusion.policy, kind: exclusion.targetKind, target: name },
      });
    });
    return backTo(c, department, partOf(exclusion.policy));
  });

  return app;
}
