/** Device list and device pages; technicians see the devices of their departments only. */
import { Hono } from "hono";
import { z } from "zod";
import { CLOSE } from "../protocol/messages.ts";
import { deleteDevice, DeviceAdminError } from "../services/device_admin.ts";
import { canSee, canSeeDevice, visibleDepartments } from "../services/devices.ts";
import {
  deviceListItem,
  deviceModel,
  loadNames,
  sessionPanelModel,
} from "../services/device_views.ts";
import { SessionPanel } from "../views/SessionPanel.tsx";
import { Live } from "../views/Live.tsx";
import { appendAudit } from "../store/audit.ts";
import { queueRevocation } from "../services/revocations.ts";
import { searchDevices } from "../store/device_search.ts";
import {
  type DeviceRow,
  findDevice,
  findGroup,
  listGroups,
  updateDevice,
} from "../store/devices.ts";
import { DeviceInfo, DevicePage } from "../views/DevicePage.tsx";
import { EmailPolicyForm, type EmailPolicyValues } from "../views/EmailPolicyForm.tsx";
import {
  changeEmailPolicy,
  emailPolicyFields,
  emailPolicyFieldsFrom,
  emailPolicyInput,
  policyErrorField,
  policyMessage,
} from "../services/email_settings.ts";
import { loadEmailPolicy } from "../store/email.ts";
import { findSupportCodeByDevice } from "../store/support_codes.ts";
import {
  agentEmailPolicy,
  DEFAULT_EMAIL_AUTHORIZATION_POLICY,
  NO_MAIL_SERVER_WARNING,
} from "../core/mod.ts";
import type { Names } from "../services/device_views.ts";
import { DeviceList, type DeviceListModel, DevicesPage } from "../views/DevicesPage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith, readForm } from "./forms.ts";
import { liveStream } from "./live.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render, renderEither, renderPartial } from "./render.tsx";

/** The device page; `request` carries Request Authorization's reason and its error. */
export async function devicePage(
  c: Ctx,
  device: DeviceRow,
  email: {
    error?: string;
    errorField?: string | null;
    notice?: string;
    values?: EmailPolicyValues;
  } = {},
  status: 200 | 400 = 200,
  request?: { reason: string; reasonError: string },
) {
  const { db, hub } = c.get("services");
  const names = await loadNames(db);
  const isAdmin = currentUser(c).role !== "technician";
  const groups = isAdmin ? await listGroups(db, [device.department_id]) : [];
  const model = await sessionPanelModel(c.get("services"), currentUser(c), device);
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
      device={deviceModel(device, hub, names)}
      admin={isAdmin
        ? {
          groups: groups.map((g) => ({ id: g.id, name: g.name })),
          deletable: device.kind === "agent",
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
          errorField={email.errorField ?? null}
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
  timeoutSeconds: z.coerce.number({ error: "Timeout must be a number of seconds" })
    .int("Timeout must be a whole number of seconds"),
  approval: z.enum(["first", "quorum", "escalation"], { error: "Choose an approval policy" })
    .default("first"),
  mode: z.enum(["save", "inherit"]).default("save"),
}).loose();

/** What the device's email form shows: its own setting, or the group's it inherits. */
async function emailFormValues(
  db: import("../store/db.ts").Db,
  device: DeviceRow,
  names: Names,
): Promise<EmailPolicyValues> {
  const own = await loadEmailPolicy(db, "device", device.id);
  const group = !own && device.group_id
    ? await loadEmailPolicy(db, "group", device.group_id)
    : null;
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

async function listModel(c: Ctx): Promise<DeviceListModel> {
  const parsed = parseWith(ListQuery, c.req.query());
  if (!parsed.ok) throw new HttpError(400, parsed.message);
  const filters = parsed.data;
  const { db, hub } = c.get("services");
  const user = currentUser(c);
  const departments = await visibleDepartments(db, user);
  const names = await loadNames(db);
  const { rows, total } = await searchDevices(db, {
    departmentIds: departments,
    department: filters.department || undefined,
    q: filters.q || undefined,
    connected: filters.status === "all" ? undefined : filters.status === "online",
    limit: PAGE_SIZE,
    offset: (filters.page - 1) * PAGE_SIZE,
  });
  return {
    devices: rows.map((r) => deviceListItem(r, hub, names)),
    total,
    pageSize: PAGE_SIZE,
    filters,
    departments: [...names.departments].filter(([id]) => canSee(departments, id))
      .map(([id, name]) => ({ id, name })),
    canEnroll: user.role !== "technician",
  };
}

/** Loads a device the viewer may see; 404 otherwise (existence is not revealed). */
export async function visibleDevice(c: Ctx): Promise<DeviceRow> {
  const { db } = c.get("services");
  const device = await findDevice(db, c.req.param("id") ?? "");
  if (!device || !await canSeeDevice(db, currentUser(c), device)) {
    throw new HttpError(404, "There is no such device, or it is not in your departments");
  }
  return device;
}

/** /devices and /devices/:id. */
export function deviceRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/devices", requireUser());
  app.use("/devices/*", requireUser());

  app.get("/devices", async (c) => {
    const model = await listModel(c);
    return renderEither(c, {
      page: () => <DevicesPage model={model} />,
      partial: () => <DeviceList model={model} />,
    });
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
    if (device.kind === "support") {
      const code = await findSupportCodeByDevice(c.get("services").db, device.id);
      if (code) return c.redirect(`/support/${code.row.id}`, 303);
    }
    return await devicePage(c, device, { notice: c.req.query("saved") ? "Saved." : undefined });
  });

  app.post("/devices/:id/email-authorization", requireRole("super_admin", "admin"), async (c) => {
    const device = await visibleDevice(c);
    const form = await readForm(c, EmailPolicyFormSchema);
    const raw = await c.req.parseBody();
    const fields = emailPolicyFieldsFrom(raw);
    const values: EmailPolicyValues = { ...fields, inheritedFrom: null, updatedBy: null };
    if (!form.ok) return await devicePage(c, device, { error: form.message, values }, 400);
    const { db, clock, events } = c.get("services");
    try {
      await changeEmailPolicy(
        { db, clock },
        { kind: "device", id: device.id, name: device.name, departmentId: device.department_id },
        form.data.mode === "inherit" ? null : emailPolicyInput(fields),
        currentUser(c),
      );
    } catch (err) {
      const message = policyMessage(err);
      if (!message) throw err;
      return await devicePage(
        c,
        device,
        { error: message, errorField: policyErrorField(message), values },
        400,
      );
    }
    events.publish({ kind: "device", deviceId: device.id, departmentId: device.department_id });
    return c.redirect(`/devices/${device.id}?saved=1#email-authorization`, 303);
  });

  app.get("/devices/:id/info", async (c) => {
    const device = await visibleDevice(c);
    const { db, hub } = c.get("services");
    return renderPartial(c, <DeviceInfo device={deviceModel(device, hub, await loadNames(db))} />);
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
      const { db, clock, hub, events, revocations } = c.get("services");
      const user = currentUser(c);
      const actor = { kind: "user" as const, id: user.id, label: user.email };
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        await updateDevice(trx, device.id, { disabled_at: disabled ? now : null }, now);
        if (disabled) {
          await queueRevocation(
            trx,
            { kind: "device", id: device.id },
            "device_disabled",
            actor,
            now,
          );
        }
        await appendAudit(trx, {
          at: now,
          action: disabled ? "device.disabled" : "device.enabled",
          outcome: disabled ? "device_disabled" : null,
          actor: { kind: "user", id: user.id, label: user.email },
          deviceId: device.id,
          departmentId: device.department_id,
        });
      });
      // Authorizations end (and `revoke` reaches the agent) before the connection is cut.
      await revocations.runNow();
      if (disabled) {
        hub.disconnect(
          device.id,
          CLOSE.deviceDisabled,
          "This device has been disabled by an admin",
        );
      }
      events.publish({ kind: "device", deviceId: device.id, departmentId: device.department_id });
      return c.redirect(`/devices/${device.id}`, 303);
    });
  }

  app.post("/devices/:id/delete", adminOnly, async (c) => {
    try {
      await deleteDevice(c.get("services"), currentUser(c), c.req.param("id"));
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
    const { db, clock, events } = c.get("services");
    const groupId = form.data.groupId || null;
    if (groupId) {
      const group = await findGroup(db, groupId);
      if (!group || group.department_id !== device.department_id) {
        throw new HttpError(400, "That group is not in the device's department");
      }
    }
    const user = currentUser(c);
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await updateDevice(trx, device.id, { group_id: groupId }, now);
      await appendAudit(trx, {
        at: now,
        action: "device.group_changed",
        actor: { kind: "user", id: user.id, label: user.email },
        deviceId: device.id,
        departmentId: device.department_id,
        detail: { from: device.group_id, to: groupId },
      });
    });
    events.publish({ kind: "device", deviceId: device.id, departmentId: device.department_id });
    return c.redirect(`/devices/${device.id}`, 303);
  });

  return app;
}

// The device owner's own list is a further requirement, never a list of extra approvers.
/** What the device page says about an email setting the agent reports. */
function agentReportedText(device: DeviceRow): string | null {
  if (!device.local_email_authorization) return null;
  let local: ReturnType<typeof agentEmailPolicy> = null;
  try {
    local = agentEmailPolicy(JSON.parse(device.local_email_authorization));
  } catch {
    return null;
  }
  if (!local) return null;
  const who = local.recipients.length > 0 ? local.recipients.join(", ") : "no usable address";
  return `The device's owner also requires email authorization on the device (${who}): one of them must allow as well as one recipient below, and a deny from either refuses the connection.`;
}
