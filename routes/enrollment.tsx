/** Admin: enrollment tokens (create, list, revoke) and device groups of a department. */
import { deleteGroup, DeviceAdminError, renameGroup } from "../services/device_admin.ts";
import { Hono } from "hono";
import { z } from "zod";
import { newId } from "../lib/tokens.ts";
import {
  canSee,
  createEnrollmentToken,
  tokenState,
  visibleDepartments,
} from "../services/devices.ts";
import { appendAudit } from "../store/audit.ts";
import { findDepartment, listDepartments } from "../store/departments.ts";
import {
  findEnrollmentToken,
  findGroup,
  insertGroup,
  listEnrollmentTokens,
  listGroups,
  revokeEnrollmentToken,
} from "../store/devices.ts";
import { agentDownloads, archivePackages, installCommands } from "../services/downloads.ts";
import { type CreatedToken, EnrollmentPage } from "../views/admin/EnrollmentPage.tsx";
import { GroupPage } from "../views/admin/GroupPage.tsx";
import { EmailPolicyForm, type EmailPolicyValues } from "../views/EmailPolicyForm.tsx";
import { DEFAULT_EMAIL_AUTHORIZATION_POLICY, NO_MAIL_SERVER_WARNING } from "../core/mod.ts";
import {
  changeEmailPolicy,
  emailPolicyFields,
  emailPolicyFieldsFrom,
  emailPolicyInput,
  policyErrorField,
  policyMessage,
} from "../services/email_settings.ts";
import { loadEmailPolicy } from "../store/email.ts";
import { EmailPolicyFormSchema } from "./devices.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { readForm, text } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const TokenForm = z.object({
  label: text("Label", 100),
  departmentId: z.string({ error: "Choose a department" }).min(1, "Choose a department").max(100),
  groupId: z.string().max(100).default(""),
  expiresHours: z.coerce.number({ error: "Choose when the token expires" }).int()
    .min(1, "A token must live at least an hour").max(24 * 365, "A token may live at most a year"),
  maxUses: z.coerce.number({ error: "Number of uses must be a number" })
    .int("Number of uses must be a whole number")
    .min(1, "Number of uses must be at least 1").max(
      100_000,
      "Number of uses must be at most 100000",
    ),
});

const GroupForm = z.object({ name: text("Group name", 100) });

function deviceAdminFailure(err: unknown): never {
  if (err instanceof DeviceAdminError) throw new HttpError(err.status, err.message);
  throw err;
}

/**
 * The command an admin runs on the device by hand: in an unpacked agent package, or, while the
 * server has no packages, in a copy of Assent.
 */
export function enrollCommand(publicUrl: string, token: string, packaged: boolean): string {
  const args = `--server ${publicUrl} --enroll ${token}`;
  return packaged ? `./assent-agent agent ${args}` : `deno task agent agent ${args}`;
}

async function page(
  c: Ctx,
  extra: { created?: CreatedToken; error?: string; notice?: string } = {},
  status: 200 | 400 = 200,
) {
  const { db, clock } = c.get("services");
  const visible = await visibleDepartments(db, currentUser(c));
  const departments = (await listDepartments(db))
    .filter((d) => d.disabled_at === null && canSee(visible, d.id));
  const names = new Map(departments.map((d) => [d.id, d.name]));
  const groups = await listGroups(db, visible);
  const groupNames = new Map(groups.map((g) => [g.id, g.name]));
  const now = clock.now();
  const tokens = (await listEnrollmentTokens(db, visible)).map((t) => ({
    id: t.id,
    label: t.label,
    department: names.get(t.department_id) ?? "—",
    group: t.group_id ? groupNames.get(t.group_id) ?? null : null,
    uses: t.uses,
    maxUses: t.max_uses,
    expiresAt: t.expires_at,
    state: tokenState(t, now),
    createdBy: t.created_by,
  }));
  const services = c.get("services");
  const downloads = await agentDownloads(services.downloadsDir);
  return render(
    c,
    <EnrollmentPage
      downloads={downloads}
      tokens={tokens}
      form={{
        departments: departments.map((d) => ({ id: d.id, name: d.name })),
        groups: groups.filter((g) => names.has(g.department_id))
          .map((g) => ({ id: g.id, name: g.name, departmentId: g.department_id })),
      }}
      {...extra}
    />,
    status,
  );
}

/** /admin/enrollment and /admin/departments/:id/groups. */
export function enrollmentRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/enrollment", requireUser(), requireRole("super_admin", "admin"));
  app.use("/admin/enrollment/*", requireUser(), requireRole("super_admin", "admin"));

  app.get(
    "/admin/enrollment",
    async (c) => await page(c, { notice: c.req.query("revoked") ? "Token revoked." : undefined }),
  );

  app.post("/admin/enrollment", async (c) => {
    const form = await readForm(c, TokenForm);
    if (!form.ok) return await page(c, { error: form.message }, 400);
    const { db, clock, config } = c.get("services");
    const data = form.data;
    const visible = await visibleDepartments(db, currentUser(c));
    if (!canSee(visible, data.departmentId)) {
      throw new HttpError(403, "You cannot enroll devices in that department");
    }
    const groupId = data.groupId || null;
    if (groupId) {
      const group = await findGroup(db, groupId);
      if (!group || group.department_id !== data.departmentId) {
        return await page(c, { error: "That group is not in the chosen department" }, 400);
      }
    }
    const user = currentUser(c);
    const now = clock.now();
    const { token } = await createEnrollmentToken(db, {
      label: data.label,
      departmentId: data.departmentId,
      groupId,
      expiresAt: now + data.expiresHours * 3_600_000,
      maxUses: data.maxUses,
      now,
    }, { kind: "user", id: user.id, label: user.email });
    const downloads = await agentDownloads(c.get("services").downloadsDir);
    return await page(c, {
      created: {
        token,
        command: enrollCommand(config.publicUrl, token, archivePackages(downloads).length > 0),
        installs: installCommands(config.publicUrl, token, downloads),
      },
    });
  });

  app.post("/admin/enrollment/:id/revoke", async (c) => {
    const { db, clock } = c.get("services");
    const token = await findEnrollmentToken(db, c.req.param("id"));
    const user = currentUser(c);
    if (!token || !canSee(await visibleDepartments(db, user), token.department_id)) {
      throw new HttpError(404, "No such enrollment token");
    }
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await revokeEnrollmentToken(trx, token.id, now);
      await appendAudit(trx, {
        at: now,
        action: "enrollment_token.revoked",
        actor: { kind: "user", id: user.id, label: user.email },
        departmentId: token.department_id,
        detail: { token: token.id, label: token.label },
      });
    });
    return c.redirect("/admin/enrollment?revoked=1", 303);
  });

  app.post(
    "/admin/departments/:id/groups",
    requireUser(),
    requireRole("super_admin", "admin"),
    async (c) => {
      const { db, clock } = c.get("services");
      const departmentId = c.req.param("id");
      const user = currentUser(c);
      if (!canSee(await visibleDepartments(db, user), departmentId)) {
        throw new HttpError(404, "No such department");
      }
      const form = await readForm(c, GroupForm);
      if (!form.ok) throw new HttpError(400, form.message);
      const existing = await listGroups(db, [departmentId]);
      if (existing.some((g) => g.name.toLowerCase() === form.data.name.toLowerCase())) {
        throw new HttpError(
          400,
          `A group named "${form.data.name}" already exists in this department`,
        );
      }
      const now = clock.now();
      const id = newId();
      await db.transaction().execute(async (trx) => {
        await insertGroup(trx, {
          id,
          department_id: departmentId,
          name: form.data.name,
          created_at: now,
        });
        await appendAudit(trx, {
          at: now,
          action: "device_group.created",
          actor: { kind: "user", id: user.id, label: user.email },
          departmentId,
          detail: { group: id, name: form.data.name },
        });
      });
      return c.redirect(`/admin/departments/${departmentId}?saved=1`, 303);
    },
  );

  const groupPage = async (
    c: Ctx,
    email: {
      error?: string;
      errorField?: string | null;
      notice?: string;
      values?: EmailPolicyValues;
    } = {},
    status: 200 | 400 = 200,
  ) => {
    const { db } = c.get("services");
    const group = await findGroup(db, c.req.param("id") ?? "");
    if (!group || !canSee(await visibleDepartments(db, currentUser(c)), group.department_id)) {
      throw new HttpError(404, "No such group");
    }
    const department = await findDepartment(db, group.department_id);
    const devices = await db.selectFrom("devices").select((eb) => eb.fn.countAll<number>().as("n"))
      .where("group_id", "=", group.id).executeTakeFirstOrThrow();
    const own = await loadEmailPolicy(db, "group", group.id);
    const p = own ?? DEFAULT_EMAIL_AUTHORIZATION_POLICY;
    return {
      group,
      response: () =>
        render(
          c,
          <GroupPage
            group={{
              id: group.id,
              name: group.name,
              department: { id: group.department_id, name: department?.name ?? "" },
              devices: devices.n,
            }}
            emailForm={
              <EmailPolicyForm
                action={`/admin/groups/${group.id}/email-authorization`}
                values={email.values ?? {
                  ...emailPolicyFields(p),
                  inheritedFrom: null,
                  updatedBy: own?.updatedBy ?? null,
                }}
                error={email.error}
                errorField={email.errorField ?? null}
                notice={email.notice}
                mailWarning={c.get("services").outbox.transport.kind === "log"
                  ? NO_MAIL_SERVER_WARNING
                  : null}
              />
            }
          />,
          status,
        ),
    };
  };

  const adminOnly = [requireUser(), requireRole("super_admin", "admin")] as const;

  app.get(
    "/admin/groups/:id",
    ...adminOnly,
    async (c) =>
      (await groupPage(c, { notice: c.req.query("saved") ? "Saved." : undefined })).response(),
  );

  app.post("/admin/groups/:id/rename", ...adminOnly, async (c) => {
    const form = await readForm(c, GroupForm);
    if (!form.ok) throw new HttpError(400, form.message);
    const id = c.req.param("id");
    await renameGroup(c.get("services"), currentUser(c), id, form.data.name)
      .catch(deviceAdminFailure);
    return c.redirect(`/admin/groups/${id}?saved=1`, 303);
  });

  app.post("/admin/groups/:id/delete", ...adminOnly, async (c) => {
    const { departmentId } = await deleteGroup(c.get("services"), currentUser(c), c.req.param("id"))
      .catch(deviceAdminFailure);
    return c.redirect(`/admin/departments/${departmentId}?saved=1`, 303);
  });

  app.post("/admin/groups/:id/email-authorization", ...adminOnly, async (c) => {
    const { group } = await groupPage(c);
    const form = await readForm(c, EmailPolicyFormSchema);
    const raw = await c.req.parseBody();
    const fields = emailPolicyFieldsFrom(raw);
    const values: EmailPolicyValues = { ...fields, inheritedFrom: null, updatedBy: null };
    if (!form.ok) return (await groupPage(c, { error: form.message, values }, 400)).response();
    const { db, clock } = c.get("services");
    try {
      await changeEmailPolicy(
        { db, clock },
        { kind: "group", id: group.id, name: group.name, departmentId: group.department_id },
        form.data.mode === "inherit" ? null : emailPolicyInput(fields),
        currentUser(c),
      );
    } catch (err) {
      const message = policyMessage(err);
      if (!message) throw err;
      return (await groupPage(
        c,
        { error: message, errorField: policyErrorField(message), values },
        400,
      )).response();
    }
    return c.redirect(`/admin/groups/${group.id}?saved=1`, 303);
  });

  return app;
}
