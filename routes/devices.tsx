/** Device list and device pages; technicians see the devices of their departments only. */
import { Hono } from "hono";
import * as z from "zod";
import { DeviceAdminError } from "../services/device_admin.ts";
import { canSee, type Device, visibleDepartments } from "../services/devices.ts";
import { deviceListItem, deviceModel, sessionPanelModel } from "../presenters/device_views.ts";
import { loadNames, type Names, panelFacts } from "../services/device_facts.ts";
import { SessionPanel } from "../views/SessionPanel.tsx";
import { Live } from "../views/Live.tsx";
import { DeviceInfo, DevicePage } from "../views/DevicePage.tsx";
import { EmailPolicyForm, type EmailPolicyValues } from "../views/EmailPolicyForm.tsx";
import {
  type EmailPolicyFields,
  emailPolicyFields,
  emailPolicyFieldsFrom,
  ownEmailPolicy,
} from "../services/email_settings.ts";
import {
  agentEmailPolicy,
  DEFAULT_EMAIL_AUTHORIZATION_POLICY,
  NO_MAIL_SERVER_WARNING,
} from "../core/mod.ts";
import { DeviceList, type DeviceListModel, DevicesPage } from "../views/DevicesPage.tsx";
import type { Services } from "../services/mod.ts";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith, readForm } from "./forms.ts";
import { liveStream } from "./live.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { fromHtmx, KeptDocuments, render, renderKept, renderPartial } from "./render.tsx";

/** The device page; `request` carries Request Authorization's reason and its error. */
export async function devicePage(
  c: Ctx,
  device: Device,
  email: {
    error?: string;
    errors?: Record<string, string>;
    notice?: string;
    values?: EmailPolicyValues;
  } = {},
  status: 200 | 400 = 200,
  request?: { reason: string; reasonError: string },
) {
  const { db, live, enrollment } = c.get("services");
  const names = await loadNames(db);
  const isAdmin = currentUser(c).role !== "technician";
  const groups = isAdmin ? await enrollment.groups(currentUser(c), device.department_id) : [];
  const model = sessionPanelModel(await panelFacts(c.get("services"), currentUser(c), device));
  const panel = request && model.request
    ? { ...model, request: { ...model.request, ...request } }
    : model;
  // A refused reason stays on the live panel until the technician sends another.
  const panelUrl = request
    ? `/devices/${device.id}/panel?reason=${encodeURIComponent(request.reason)}`
    : `/devices/${device.id}/panel`;
  return render(
    c,
    <DevicePage
      device={deviceModel(device, live, names)}
      admin={isAdmin
        ? {
          groups: groups.map((g) => ({ id: g.id, name: g.name })),
          deletable: device.kind === "agent",
          contactEmail: device.contact_email,
        }
        : null}
      panel={
        <Live id="session-panel" url={panelUrl} event="device">
          <SessionPanel model={panel} />
        </Live>
      }
      settings={isAdmin && (
        <EmailPolicyForm
          action={`/devices/${device.id}/email-authorization`}
          values={email.values ?? await emailFormValues(db, device, names)}
          error={email.error}
          errors={email.errors ?? {}}
          notice={email.notice}
          agentReported={agentReportedText(device)}
          mailWarning={c.get("services").outbox.transport.kind === "log"
            ? NO_MAIL_SERVER_WARNING
            : null}
        />
      )}
    />,
    status,
  );
}

/** The email-authorization form of a device or group. */
export const EmailPolicyFormSchema = z.object({
  required: z.preprocess((v) => v === "on", z.boolean()),
  recipients: z.string().max(5000, "Recipients are too long").default(""),
  // Read as typed: core checks the number and says what is wrong in words, with the other
  // fields' problems (an empty box coerced to 0 would be reported as "0").
  timeoutSeconds: z.string().max(40, "Enter the timeout in seconds").default(""),
  approval: z.enum(["first", "quorum", "escalation"], { error: "Choose an approval policy" })
    .default("first"),
  mode: z.enum(["save", "inherit"]).default("save"),
}).loose();

/** What the device's email form shows: its own setting, or the group's it inherits. */
async function emailFormValues(
  db: Services["db"],
  device: Device,
  names: Names,
): Promise<EmailPolicyValues> {
  const own = await ownEmailPolicy(db, "device", device.id);
  const group = !own && device.group_id ? await ownEmailPolicy(db, "group", device.group_id) : null;
  const p = own ?? group ?? DEFAULT_EMAIL_AUTHORIZATION_POLICY;
  return {
    ...emailPolicyFields(p),
    inheritedFrom: !own && group && device.group_id
      ? `the group ${names.groups.get(device.group_id) ?? ""}`
      : null,
    updatedBy: own?.updatedBy ?? null,
  };
}

/** Devices per page of the list. */
export const PAGE_SIZE = 50;

const ListQuery = z.object({
  q: z.string().trim().max(100, "Search is at most 100 characters").default(""),
  status: z.enum(["all", "online", "offline"], { error: "Status must be all, online or offline" })
    .default("all"),
  department: z.string().max(100).default(""),
  page: z.coerce.number({ error: "Page must be a number" }).int("Page must be a whole number")
    .min(1, "Page must be at least 1").max(100_000).default(1),
});

/**
 * The posted email-authorization form: what to save, and the values to show again; or, when
 * the form itself is malformed, the page state that says so.
 */
export async function readEmailPolicyForm(c: Ctx): Promise<
  | { ok: true; form: { inherit: boolean; fields: EmailPolicyFields }; values: EmailPolicyValues }
  | { ok: false; page: { errors: Record<string, string>; values: EmailPolicyValues } }
> {
  const form = await readForm(c, EmailPolicyFormSchema);
  const fields = emailPolicyFieldsFrom(await c.req.parseBody());
  const values: EmailPolicyValues = { ...fields, inheritedFrom: null, updatedBy: null };
  if (!form.ok) return { ok: false, page: { errors: form.errors, values } };
  return { ok: true, form: { inherit: form.data.mode === "inherit", fields }, values };
}

async function listModel(c: Ctx): Promise<DeviceListModel> {
  const parsed = parseWith(ListQuery, c.req.query());
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const filters = parsed.data;
  const { live, deviceAdmin } = c.get("services");
  const user = currentUser(c);
  const { rows, total, departments, names } = await deviceAdmin.searchList(user, {
    department: filters.department || undefined,
    q: filters.q || undefined,
    connected: filters.status === "all" ? undefined : filters.status === "online",
    limit: PAGE_SIZE,
    offset: (filters.page - 1) * PAGE_SIZE,
  });
  return {
    devices: rows.map((r) => deviceListItem(r, live, names)),
    total,
    pageSize: PAGE_SIZE,
    filters,
    departments: [...names.departments].filter(([id]) => canSee(departments, id))
      .map(([id, name]) => ({ id, name })),
    canEnroll: user.role !== "technician",
  };
}

/** Device list pages kept as sent, per viewer and filter (see renderKept). */
const keptLists = new KeptDocuments(64);

/** What the list page is made from besides its page info: its items, and the rest as text. */
function listInputs(model: DeviceListModel): { inputs: string; objects: readonly object[] } {
  return {
    inputs: JSON.stringify({ ...model, devices: model.devices.length }),
    objects: model.devices,
  };
}

/** Loads a device the viewer may see; 404 otherwise (existence is not revealed). */
export async function visibleDevice(c: Ctx): Promise<Device> {
  return await refused(
    c.get("services").deviceAdmin.visible(currentUser(c), c.req.param("id") ?? ""),
  );
}

/** Runs a device-administration call, its refusals answered as errors. */
async function refused<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof DeviceAdminError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

/** /devices and /devices/:id. */
export function deviceRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/devices", requireUser());
  app.use("/devices/*", requireUser());

  app.get("/devices", async (c) => {
    const model = await listModel(c);
    if (fromHtmx(c)) return renderPartial(c, <DeviceList model={model} />);
    return renderKept(c, keptLists, listInputs(model), () => <DevicesPage model={model} />);
  });

  app.get(
    "/devices/list",
    async (c) => renderPartial(c, <DeviceList model={await listModel(c)} />),
  );

  app.get("/devices/events", async (c) => {
    const departments = await visibleDepartments(c.get("services").db, currentUser(c));
    return liveStream(c, {
      event: "devices",
      accepts: (e) => e.kind === "device" && canSee(departments, e.departmentId),
    });
  });

  app.get("/devices/:id", async (c) => {
    const device = await visibleDevice(c);
    // A Service Desk customer's computer lives on its support session's page.
    const code = await c.get("services").deviceAdmin.supportCodeOf(device);
    if (code) return c.redirect(`/support/${code}`, 303);
    return await devicePage(c, device, { notice: c.req.query("saved") ? "Saved." : undefined });
  });

  app.post("/devices/:id/email-authorization", requireRole("super_admin", "admin"), async (c) => {
    const device = await visibleDevice(c);
    const posted = await readEmailPolicyForm(c);
    if (!posted.ok) return await devicePage(c, device, posted.page, 400);
    const { emailSettings, events } = c.get("services");
    const saved = await emailSettings.changeFromForm(
      { kind: "device", id: device.id, name: device.name, departmentId: device.department_id },
      posted.form,
      currentUser(c),
    );
    if (!saved.ok) {
      return await devicePage(c, device, { errors: saved.errors, values: posted.values }, 400);
    }
    events.publish({ kind: "device", deviceId: device.id, departmentId: device.department_id });
    return c.redirect(`/devices/${device.id}?saved=1#email-authorization`, 303);
  });

  app.get("/devices/:id/info", async (c) => {
    const device = await visibleDevice(c);
    const { db, live } = c.get("services");
    return renderPartial(c, <DeviceInfo device={deviceModel(device, live, await loadNames(db))} />);
  });

  app.get("/devices/:id/events", async (c) => {
    const device = await visibleDevice(c);
    return liveStream(c, {
      event: "device",
      accepts: (e) => (e.kind === "device" || e.kind === "session") && e.deviceId === device.id,
      minIntervalMs: 250,
    });
  });

  const adminOnly = requireRole("super_admin", "admin");

  for (const [verb, disabled] of [["disable", true], ["enable", false]] as const) {
    app.post(`/devices/:id/${verb}`, adminOnly, async (c) => {
      const device = await visibleDevice(c);
      await c.get("services").deviceAdmin.setDisabled(currentUser(c), device, disabled);
      return c.redirect(`/devices/${device.id}`, 303);
    });
  }

  app.post("/devices/:id/delete", adminOnly, async (c) => {
    try {
      await c.get("services").deviceAdmin.delete(currentUser(c), c.req.param("id"));
    } catch (err) {
      if (err instanceof DeviceAdminError) throw new HttpError(err.status, err.message);
      throw err;
    }
    return c.redirect("/devices", 303);
  });

  app.post("/devices/:id/group", adminOnly, async (c) => {
    const device = await visibleDevice(c);
    const form = await readForm(c, z.object({ groupId: z.string().max(100).default("") }));
    if (!form.ok) throw new HttpError(400, form.message);
    await refused(
      c.get("services").deviceAdmin.moveToGroup(currentUser(c), device, form.data.groupId || null),
    );
    return c.redirect(`/devices/${device.id}`, 303);
  });

  // Whoever looks after the device gets the consent receipt of every authorization on it.
  app.post("/devices/:id/contact", adminOnly, async (c) => {
    const device = await visibleDevice(c);
    const form = await readForm(
      c,
      z.object({
        contactEmail: z.string().trim().pipe(z.union([
          z.literal(""),
          z.email("Enter an email address, like name@example.com").max(254),
        ])).default(""),
      }),
    );
    if (!form.ok) throw new HttpError(400, form.message);
    await c.get("services").deviceAdmin.setContact(
      currentUser(c),
      device,
      form.data.contactEmail || null,
    );
    return c.redirect(`/devices/${device.id}`, 303);
  });

  return app;
}

// The device owner's own list is a further requirement, never a list of extra approvers.
/** What the device page says about an email setting the agent reports. */
function agentReportedText(device: Device): string | null {
  const local = agentEmailPolicy(device.local_email_authorization);
  if (!local) return null;
  const who = local.recipients.length > 0 ? local.recipients.join(", ") : "no usable address";
  return `The device's owner also requires email authorization on the device (${who}): one of them must allow as well as one recipient below, and a deny from either refuses the connection.`;
}
