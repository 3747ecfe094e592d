/**
 * Department settings (R2–R4): Session Confirmation, Secure Connect, the authorization
 * lifetime and what file transfer may reach, with their exclusions. Admins configure the departments they belong to, super
 * admins every one; only super admins change Secure Connect. Every change is audited with
 * the fields it changed, in the transaction that saves it.
 */
import { Hono } from "hono";
import * as z from "zod";
import {
  CONFIRMATION_MESSAGE_LABEL,
  CONFIRMATION_TIMEOUT_LABEL,
  type ConsentCapability,
  describePathProblem,
  isCoreError,
  parseReachPath,
  POLICY_LIMITS,
  REAUTHENTICATION_TIME_LABEL,
} from "../core/mod.ts";
import {
  type DepartmentSettingsView,
  type Exclusion,
  type SettingsDepartment,
  SettingsError,
} from "../services/department_settings.ts";
import { type SettingsListItem, SettingsListPage } from "../views/SettingsListPage.tsx";
import { OrganizationError } from "../services/organization.ts";
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
function consentFieldError(message: string, fieldErrors: Record<string, string> = {}) {
  const named = (["capabilities", "mode", "nobodyToAsk"] as const).find((f) => fieldErrors[f]);
  if (named) return { field: named, message: fieldErrors[named]! };
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

function partOf(policy: Exclusion["policy"]): SettingsPart {
  return policy === "confirmation" ? "confirmation-exclusions" : "secure-connect-exclusions";
}

type Department = SettingsDepartment;

const settings = (c: Ctx) => c.get("services").settings;

// Departments the viewer cannot see answer 404, like ones that do not exist, so ids do not leak.
async function loadDepartment(c: Ctx): Promise<Department> {
  return await refused(settings(c).department(currentUser(c), c.req.param("departmentId") ?? ""));
}

/** Maps the services' and core's refusals to answers; anything else stays an error. */
function refusal(err: unknown): HttpError {
  if (err instanceof SettingsError) return new HttpError(err.status, err.message);
  if (isCoreError(err) && err.code === "forbidden") return new HttpError(403, err.message);
  if (isCoreError(err) && err.code === "invalid_policy") return new HttpError(400, err.message);
  throw err;
}

/** Runs a settings call, its refusals answered as errors. */
async function refused<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    throw refusal(err);
  }
}

/** An invalid policy re-renders the form through `fail`; other refusals answer on their own. */
async function failWith(
  err: unknown,
  fail: (message: string, fields?: Record<string, string>) => Promise<Response>,
): Promise<Response> {
  const answer = refusal(err);
  if (answer.status !== 400) throw answer;
  const fields: Record<string, string> = {};
  if (isCoreError(err)) { for (const i of err.issues) fields[i.field] ??= i.message; }
  return await fail(answer.message, fields);
}

async function assertMayChangeSecureConnect(c: Ctx, departmentId: string): Promise<void> {
  await refused(settings(c).assertMayChangeSecureConnect(currentUser(c), departmentId));
}

/** The confirmation section as posted, with what is wrong with it. */
function confirmationRefused(
  raw: Record<string, string>,
  capabilities: string[] | undefined,
  message: string,
  fieldErrors: Record<string, string>,
): PageState {
  return {
    // The section's box lists every field's problem, or says the message when none is a field's.
    errors: { confirmation: message },
    fieldErrors,
    confirmation: {
      enabled: isOn(raw.enabled),
      message: raw.message ?? "",
      timeoutSeconds: raw.timeoutSeconds ?? "",
      showOnLockedAndLoggedOff: isOn(raw.showOnLockedAndLoggedOff),
      mode: raw.mode === "notify" ? "notify" : "confirm",
      nobodyToAsk: raw.nobodyToAsk === "refuse" ? "refuse" : "proceed",
      offerWindows: isOn(raw.offerWindows),
      capabilities,
      fieldError: consentFieldError(message, fieldErrors),
    },
  };
}

/** The Secure Connect section as posted, with what is wrong with it. */
function secureConnectRefused(
  raw: Record<string, string>,
  message: string,
  fieldErrors: Record<string, string>,
): PageState {
  return {
    // The section's box lists every field's problem, or says the message when none is a field's.
    errors: { "secure-connect": message },
    fieldErrors,
    secureConnect: {
      enabled: isOn(raw.enabled),
      reauthenticationMinutes: raw.reauthenticationMinutes ?? "",
      requireMfaForAll: isOn(raw.requireMfaForAll),
    },
  };
}

/** What a re-rendered page keeps from the request: the typed values and the error. */
interface PageState {
  errors?: Partial<Record<SettingsPart, string>>;
  /** Each refused field's problem, by its form name, for the section that was posted. */
  fieldErrors?: Record<string, string>;
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
  const viewer = currentUser(c);
  const view: DepartmentSettingsView = await settings(c).view(viewer, department.id);
  const { policies, exclusions, devices, groups } = view;
  const rows = (policy: Exclusion["policy"]): ExclusionRow[] =>
    exclusions.filter((e) => e.policy === policy).map((e) => ({
      id: e.id,
      kind: e.kind,
      excludedBy: e.excludedBy,
      name: e.name,
      os: e.os,
      ip: e.ip,
    }));
  const notExcluded = (policy: Exclusion["policy"], kind: Exclusion["targetKind"]) => {
    const taken = new Set(
      exclusions.filter((e) => e.policy === policy && e.kind === kind).map((e) => e.targetId),
    );
    return (id: string) => !taken.has(id);
  };
  const deviceOptions = (policy: Exclusion["policy"]) =>
    devices.filter((d) => notExcluded(policy, "device")(d.id)).map((d) => {
      const ip = d.ip_addresses[0];
      return { value: `device:${d.id}`, label: ip ? `${d.name} (${ip})` : d.name };
    });
  const c1 = policies.confirmation;
  const sc = policies.secureConnect;
  const editable = view.secureConnectEditable;
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
      exclusions: rows("confirmation"),
      devices: deviceOptions("confirmation"),
      groups: groups.filter((g) => notExcluded("confirmation", "group")(g.id))
        .map((g) => ({ value: `group:${g.id}`, label: g.name })),
      ...state.confirmation,
    },
    secureConnect: {
      editable,
      needsOwnMfa: editable && !viewer.mfaEnabled,
      enabled: sc.enabled,
      reauthenticationMinutes: String(sc.reauthenticationMinutes),
      requireMfaForAll: sc.requireMfaForAll,
      exclusions: rows("secure_connect"),
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
    fieldErrors: state.fieldErrors ?? {},
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

const LanguageForm = z.object({
  locale: z.string({ error: "Choose a language" }).max(10, "Choose a language"),
});

function settingsListPage(
  c: Ctx,
  departments: SettingsListItem[],
  language: { saved?: boolean; error?: string },
  status: 200 | 400 | 403 = 200,
): Response {
  const services = c.get("services");
  return render(
    c,
    <SettingsListPage
      departments={departments}
      language={{
        locale: services.instance.locale,
        canChange: currentUser(c).role === "super_admin",
        ...language,
      }}
    />,
    status,
  );
}

/** GET /settings, GET /settings/:departmentId and the POSTs of each section. */
export function settingsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const guard = [requireUser(), requireRole("super_admin", "admin")] as const;
  app.use("/settings", ...guard);
  app.use("/settings/*", ...guard);

  app.get("/settings", async (c) => {
    const items = await settings(c).overview(currentUser(c));
    return settingsListPage(c, items, { saved: c.req.query("saved") === "language" });
  });

  app.post("/settings/language", async (c) => {
    const services = c.get("services");
    const form = await readForm(c, LanguageForm);
    try {
      // Who may change it is decided before what was sent: the service checks both, in that order.
      const locale = form.ok ? form.data.locale : undefined;
      await services.organization.changeDefaultLocale(currentUser(c), locale);
    } catch (err) {
      if (!(err instanceof OrganizationError)) throw err;
      const items = await settings(c).overview(currentUser(c));
      return settingsListPage(c, items, { error: err.message }, err.status);
    }
    return c.redirect("/settings?saved=language", 303);
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
    const capabilities = form.ok ? [form.data.capabilities ?? []].flat() : undefined;
    const fail = (message: string, fieldErrors: Record<string, string> = {}) =>
      settingsPage(
        c,
        department,
        confirmationRefused(raw, capabilities, message, fieldErrors),
        400,
      );
    if (!form.ok) return await fail(form.message, form.errors);
    const input = confirmationInput(form.data);
    try {
      await settings(c).changeConfirmation(currentUser(c), department.id, input);
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
    const fail = (message: string, fieldErrors: Record<string, string> = {}) =>
      settingsPage(c, department, secureConnectRefused(raw, message, fieldErrors), 400);
    if (!form.ok) return await fail(form.message, form.errors);
    try {
      await settings(c).changeSecureConnect(currentUser(c), department.id, form.data);
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
    const fail = (message: string, fieldErrors: Record<string, string> = {}) =>
      settingsPage(c, department, {
        // The section's box lists every field's problem, or says the message when none is a field's.
        errors: { authorization: message },
        fieldErrors,
        authorization: {
          lifetimeMinutes: raw.lifetimeMinutes ?? "",
          requireReason: raw.requireReason === "on",
        },
      }, 400);
    if (!form.ok) return await fail(form.message, form.errors);
    try {
      await settings(c).changeAuthorization(currentUser(c), department.id, form.data);
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, "authorization");
  });

  app.post("/settings/:departmentId/recording", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, RecordingForm);
    const raw = await typed(c);
    const fail = (message: string, fieldErrors: Record<string, string> = {}) =>
      settingsPage(c, department, {
        // The section's box lists every field's problem, or says the message when none is a field's.
        errors: { recording: message },
        fieldErrors,
        recording: {
          terminal: isOn(raw.terminal) ? "on" : "off",
          retentionDays: raw.retentionDays ?? "",
        },
      }, 400);
    if (!form.ok) return await fail(form.message, form.errors);
    try {
      await settings(c).changeRecording(currentUser(c), department.id, {
        terminal: form.data.terminal ? "on" : "off",
        retentionDays: form.data.retentionDays,
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
      await settings(c).changeFileTransfer(currentUser(c), department.id, {
        userHomes: form.data.userHomes,
        paths: paths.paths,
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
    try {
      await settings(c).addExclusion(currentUser(c), department.id, policy, form.data.target);
    } catch (err) {
      return await failWith(err, fail);
    }
    return backTo(c, department, part);
  });

  app.post("/settings/:departmentId/exclusions/:id/remove", async (c) => {
    const department = await loadDepartment(c);
    const param = c.req.param("id");
    const id = /^\d{1,15}$/.test(param) ? Number(param) : NaN;
    const policy = await refused(settings(c).removeExclusion(currentUser(c), department.id, id));
    return backTo(c, department, partOf(policy));
  });

  return app;
}
