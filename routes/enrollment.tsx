/** Admin: enrollment tokens (create, list, revoke) and device groups of a department. */
import { DeviceAdminError } from "../services/device_admin.ts";
import { Hono } from "hono";
import * as z from "zod";
import { DEFAULT_EMAIL_AUTHORIZATION_POLICY, NO_MAIL_SERVER_WARNING } from "../core/mod.ts";
import { agentDownloads, archivePackages, installCommands } from "../services/downloads.ts";
import { EnrollmentError, GroupFields } from "../services/enrollment.ts";
import { type CreatedToken, EnrollmentPage } from "../views/admin/EnrollmentPage.tsx";
import { DepartmentPage } from "../views/admin/DepartmentsPage.tsx";
import { GroupPage } from "../views/admin/GroupPage.tsx";
import { EmailPolicyForm, type EmailPolicyValues } from "../views/EmailPolicyForm.tsx";
import { emailPolicyFields, ownEmailPolicy } from "../services/email_settings.ts";
import { readEmailPolicyForm } from "./devices.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { readForm, text } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const TOKEN_FIELDS = ["label", "departmentId", "groupId", "expiresHours", "maxUses"];

/** What was typed into the named fields, to show the form again with it. */
function typedValues(raw: Record<string, unknown>, names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((k) => [k, String(raw[k] ?? "")]));
}

/** The new token with the commands that enroll a device with it. */
async function createdToken(c: Ctx, token: string): Promise<CreatedToken> {
  const { config, downloadsDir } = c.get("services");
  const downloads = await agentDownloads(downloadsDir);
  return {
    token,
    command: enrollCommand(config.publicUrl, token, archivePackages(downloads).length > 0),
    installs: installCommands(config.publicUrl, token, downloads),
  };
}

/** The department page again, the group form showing what is wrong with the name. */
async function refusedGroup(
  c: Ctx,
  departmentId: string,
  name: string,
  message: string,
): Promise<Response> {
  const { department, groups } = await c.get("services").directory.department(
    currentUser(c),
    departmentId,
  );
  return render(
    c,
    <DepartmentPage
      department={department}
      groups={groups}
      newGroup={{ errors: { name: message }, name }}
    />,
    400,
  );
}

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

/** Runs an enrollment call, turning its 403/404 refusals into the error page. */
async function scoped<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof EnrollmentError && err.status !== 400) {
      throw new HttpError(err.status, err.message);
    }
    throw err;
  }
}

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
  extra: {
    created?: CreatedToken;
    errors?: Record<string, string>;
    values?: Record<string, string>;
    notice?: string;
  } = {},
  status: 200 | 400 = 200,
) {
  const { enrollment, downloadsDir } = c.get("services");
  const viewer = currentUser(c);
  return render(
    c,
    <EnrollmentPage
      downloads={await agentDownloads(downloadsDir)}
      tokens={await enrollment.tokens(viewer)}
      form={await enrollment.formOptions(viewer)}
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
    const values = typedValues(await c.req.parseBody(), TOKEN_FIELDS);
    if (!form.ok) return await page(c, { errors: form.errors, values }, 400);
    const { expiresHours, groupId, ...fields } = form.data;
    let token: string;
    try {
      ({ token } = await scoped(
        c.get("services").enrollment.createToken(currentUser(c), {
          ...fields,
          groupId: groupId || null,
          expiresInMs: expiresHours * 3_600_000,
        }),
      ));
    } catch (err) {
      if (!(err instanceof EnrollmentError)) throw err;
      const field = err.message.startsWith("That group") ? "groupId" : "";
      return await page(c, { errors: { [field]: err.message }, values }, 400);
    }
    return await page(c, { created: await createdToken(c, token) });
  });

  app.post("/admin/enrollment/:id/revoke", async (c) => {
    const { enrollment } = c.get("services");
    await scoped(enrollment.revokeToken(currentUser(c), c.req.param("id")));
    return c.redirect("/admin/enrollment?revoked=1", 303);
  });

  app.post(
    "/admin/departments/:id/groups",
    requireUser(),
    requireRole("super_admin", "admin"),
    async (c) => {
      const { enrollment } = c.get("services");
      const departmentId = c.req.param("id");
      await scoped(enrollment.groups(currentUser(c), departmentId));
      const form = await readForm(c, GroupFields);
      const name = String((await c.req.parseBody()).name ?? "");
      const refused = (message: string) => refusedGroup(c, departmentId, name, message);
      if (!form.ok) return await refused(form.errors.name ?? form.message);
      try {
        await enrollment.createGroup(currentUser(c), departmentId, form.data);
      } catch (err) {
        if (err instanceof EnrollmentError && err.status === 400) return await refused(err.message);
        if (err instanceof EnrollmentError) throw new HttpError(err.status, err.message);
        throw err;
      }
      return c.redirect(`/admin/departments/${departmentId}?saved=1`, 303);
    },
  );

  const groupPage = async (
    c: Ctx,
    email: {
      error?: string;
      errors?: Record<string, string>;
      notice?: string;
      values?: EmailPolicyValues;
      rename?: { error: string; name: string };
    } = {},
    status: 200 | 400 = 200,
  ) => {
    const { db, enrollment } = c.get("services");
    const { group, department, devices } = await scoped(
      enrollment.group(currentUser(c), c.req.param("id") ?? ""),
    );
    const own = await ownEmailPolicy(db, "group", group.id);
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
              department: { id: group.department_id, name: department },
              devices,
            }}
            rename={email.rename}
            emailForm={
              <EmailPolicyForm
                action={`/admin/groups/${group.id}/email-authorization`}
                values={email.values ?? {
                  ...emailPolicyFields(p),
                  inheritedFrom: null,
                  updatedBy: own?.updatedBy ?? null,
                }}
                error={email.error}
                errors={email.errors ?? {}}
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
    // Scope first: someone outside it learns nothing from how their name was wrong.
    await groupPage(c);
    const form = await readForm(c, GroupFields);
    const name = String((await c.req.parseBody()).name ?? "");
    const refused = async (error: string) =>
      (await groupPage(c, { rename: { error, name } }, 400)).response();
    if (!form.ok) return await refused(form.errors.name ?? form.message);
    const id = c.req.param("id");
    try {
      await c.get("services").deviceAdmin.renameGroup(currentUser(c), id, form.data.name);
    } catch (err) {
      if (err instanceof DeviceAdminError && err.status === 400) return await refused(err.message);
      deviceAdminFailure(err);
    }
    return c.redirect(`/admin/groups/${id}?saved=1`, 303);
  });

  app.post("/admin/groups/:id/delete", ...adminOnly, async (c) => {
    const { departmentId } = await c.get("services").deviceAdmin
      .deleteGroup(currentUser(c), c.req.param("id")).catch(deviceAdminFailure);
    return c.redirect(`/admin/departments/${departmentId}?saved=1`, 303);
  });

  app.post("/admin/groups/:id/email-authorization", ...adminOnly, async (c) => {
    const { group } = await groupPage(c);
    const posted = await readEmailPolicyForm(c);
    if (!posted.ok) return (await groupPage(c, posted.page, 400)).response();
    const saved = await c.get("services").emailSettings.changeFromForm(
      { kind: "group", id: group.id, name: group.name, departmentId: group.department_id },
      posted.form,
      currentUser(c),
    );
    if (!saved.ok) {
      return (await groupPage(c, { errors: saved.errors, values: posted.values }, 400)).response();
    }
    return c.redirect(`/admin/groups/${group.id}?saved=1`, 303);
  });

  return app;
}
