/**
 * Admin pages for users and departments. Super admins manage everyone; admins manage
 * technicians and departments; technicians get 403 here.
 */
import { Hono } from "hono";
import { z } from "zod";
import { newId } from "../lib/tokens.ts";
import { AccountError } from "../services/accounts.ts";
import { appendAudit } from "../store/audit.ts";
import {
  findDepartment,
  findDepartmentByName,
  insertDepartment,
  listDepartments,
  memberCounts,
  updateDepartment,
} from "../store/departments.ts";
import { listGroups } from "../store/devices.ts";
import type { Role } from "../store/schema.ts";
import {
  countActiveSuperAdmins,
  findUser,
  findUserByEmail,
  listUsers,
  setUserDepartments,
  updateUser,
  userDepartmentIds,
  type UserRow,
} from "../store/users.ts";
import { deleteUserSessions } from "../store/web_sessions.ts";
import { DepartmentPage, DepartmentsPage } from "../views/admin/DepartmentsPage.tsx";
import { UserFormPage, type UserFormValues, UsersPage } from "../views/admin/UsersPage.tsx";
import { ROLE_LABELS } from "../views/labels.ts";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { email, many, password, readForm, text } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const ROLES = ["super_admin", "admin", "technician"] as const;

const UserForm = z.object({
  name: text("Name", 100),
  email: email(),
  role: z.enum(ROLES, { error: "Choose a role" }),
  departmentIds: many(),
});
const NewUserForm = UserForm.extend({ password: password("Initial password") });
const DepartmentForm = z.object({ name: text("Name", 100) });

/** Roles `viewer` may grant. */
function grantable(viewer: Role): Role[] {
  return viewer === "super_admin" ? [...ROLES] : ["technician"];
}

/** Whether `viewer` may edit `target` at all. */
function mayManage(viewer: Role, target: Role): boolean {
  return viewer === "super_admin" || target === "technician";
}

function actor(c: Ctx) {
  const u = currentUser(c);
  return { kind: "user" as const, id: u.id, label: u.email };
}

async function departmentOptions(c: Ctx) {
  const all = await listDepartments(c.get("services").db);
  return all.filter((d) => d.disabled_at === null).map((d) => ({ id: d.id, name: d.name }));
}

async function checkDepartments(c: Ctx, ids: string[]): Promise<string | null> {
  const valid = new Set((await departmentOptions(c)).map((d) => d.id));
  return ids.every((id) => valid.has(id)) ? null : "One of the chosen departments does not exist";
}

async function loadTarget(c: Ctx): Promise<UserRow> {
  const target = await findUser(c.get("services").db, c.req.param("id") ?? "");
  if (!target) throw new HttpError(404, "No such user");
  if (!mayManage(currentUser(c).role, target.role)) {
    throw new HttpError(403, "Only a super admin can manage admins and super admins");
  }
  return target;
}

/** /admin/users and /admin/departments. */
export function adminRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/*", requireUser(), requireRole("super_admin", "admin"));

  app.get("/admin/users", async (c) => {
    const db = c.get("services").db;
    const viewer = currentUser(c);
    const names = new Map((await listDepartments(db)).map((d) => [d.id, d.name]));
    const users = (await listUsers(db)).map((u) => ({
      id: u.id,
      name: u.name,
      email: u.email,
      roleLabel: ROLE_LABELS[u.role],
      departments: u.departmentIds.map((id) => names.get(id) ?? "").filter(Boolean).sort(),
      mfaEnabled: u.totp_enabled_at !== null,
      disabled: u.disabled_at !== null,
      editable: mayManage(viewer.role, u.role),
    }));
    return render(c, <UsersPage users={users} notice={c.req.query("saved") ? "Saved." : null} />);
  });

  const userForm = async (
    c: Ctx,
    props: {
      mode: "create" | "edit";
      values: UserFormValues;
      target?: UserRow;
      error?: string;
      notice?: string;
    },
    status: 200 | 400 = 200,
  ) => {
    const viewer = currentUser(c);
    return render(
      c,
      <UserFormPage
        mode={props.mode}
        userId={props.target?.id}
        values={props.values}
        roles={grantable(viewer.role).map((r) => ({ value: r, label: ROLE_LABELS[r] }))}
        departments={await departmentOptions(c)}
        error={props.error}
        notice={props.notice}
        status={props.target && {
          disabled: props.target.disabled_at !== null,
          mfaEnabled: props.target.totp_enabled_at !== null,
          isSelf: props.target.id === viewer.id,
        }}
      />,
      status,
    );
  };

  app.get("/admin/users/new", async (c) =>
    await userForm(c, {
      mode: "create",
      values: { name: "", email: "", role: "technician", departmentIds: [] },
    }));

  app.post("/admin/users", async (c) => {
    const form = await readForm(c, NewUserForm);
    const raw = await c.req.parseBody({ all: true });
    const values = formValues(raw);
    if (!form.ok) return await userForm(c, { mode: "create", values, error: form.message }, 400);
    const data = form.data;
    if (!grantable(currentUser(c).role).includes(data.role)) {
      throw new HttpError(403, "Only a super admin can create admins and super admins");
    }
    const deptProblem = await checkDepartments(c, data.departmentIds);
    if (deptProblem) return await userForm(c, { mode: "create", values, error: deptProblem }, 400);
    try {
      await c.get("services").accounts.createUser(
        data,
        actor(c),
        (trx, id) => setUserDepartments(trx, id, data.departmentIds),
      );
    } catch (err) {
      if (!(err instanceof AccountError)) throw err;
      return await userForm(c, { mode: "create", values, error: err.message }, 400);
    }
    return c.redirect("/admin/users?saved=1", 303);
  });

  app.get("/admin/users/:id", async (c) => {
    const target = await loadTarget(c);
    const departmentIds = await userDepartmentIds(c.get("services").db, target.id);
    return await userForm(c, {
      mode: "edit",
      target,
      values: { name: target.name, email: target.email, role: target.role, departmentIds },
      notice: c.req.query("saved") ? "Saved." : undefined,
    });
  });

  app.post("/admin/users/:id", async (c) => {
    const target = await loadTarget(c);
    const { db, clock } = c.get("services");
    const form = await readForm(c, UserForm);
    const values = formValues(await c.req.parseBody({ all: true }));
    const fail = (error: string) => userForm(c, { mode: "edit", target, values, error }, 400);
    if (!form.ok) return await fail(form.message);
    const data = form.data;
    if (!grantable(currentUser(c).role).includes(data.role)) {
      throw new HttpError(403, "Only a super admin can grant that role");
    }
    const deptProblem = await checkDepartments(c, data.departmentIds);
    if (deptProblem) return await fail(deptProblem);
    const other = await findUserByEmail(db, data.email);
    if (other && other.id !== target.id) {
      return await fail(`A user with email "${data.email}" already exists`);
    }
    if (
      target.role === "super_admin" && data.role !== "super_admin" &&
      await countActiveSuperAdmins(db) <= 1
    ) {
      return await fail("This is the last super admin; make someone else super admin first");
    }
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await updateUser(
        trx,
        target.id,
        { name: data.name, email: data.email, role: data.role },
        now,
      );
      await setUserDepartments(trx, target.id, data.departmentIds);
      await appendAudit(trx, {
        at: now,
        action: "user.updated",
        actor: actor(c),
        detail: {
          user: data.email,
          role: data.role,
          departments: data.departmentIds.join(","),
        },
      });
    });
    return c.redirect(`/admin/users/${target.id}?saved=1`, 303);
  });

  app.post("/admin/users/:id/disable", async (c) => {
    const target = await loadTarget(c);
    const { db, clock } = c.get("services");
    if (target.id === currentUser(c).id) throw new HttpError(400, "You cannot disable yourself");
    if (target.role === "super_admin" && await countActiveSuperAdmins(db) <= 1) {
      throw new HttpError(400, "This is the last super admin and cannot be disabled");
    }
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await updateUser(trx, target.id, { disabled_at: now }, now);
      await deleteUserSessions(trx, target.id);
      await appendAudit(trx, {
        at: now,
        action: "user.disabled",
        actor: actor(c),
        detail: { user: target.email },
      });
    });
    return c.redirect(`/admin/users/${target.id}?saved=1`, 303);
  });

  app.post("/admin/users/:id/enable", async (c) => {
    const target = await loadTarget(c);
    const { db, clock } = c.get("services");
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await updateUser(trx, target.id, { disabled_at: null }, now);
      await appendAudit(trx, {
        at: now,
        action: "user.enabled",
        actor: actor(c),
        detail: { user: target.email },
      });
    });
    return c.redirect(`/admin/users/${target.id}?saved=1`, 303);
  });

  app.post("/admin/users/:id/reset-mfa", async (c) => {
    const target = await loadTarget(c);
    await c.get("services").accounts.clearMfa(target.id, actor(c));
    return c.redirect(`/admin/users/${target.id}?saved=1`, 303);
  });

  // Departments

  const departmentsPage = async (
    c: Ctx,
    extra: { error?: string; notice?: string; name?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const db = c.get("services").db;
    const counts = await memberCounts(db);
    const departments = (await listDepartments(db)).map((d) => ({
      id: d.id,
      name: d.name,
      members: counts.get(d.id) ?? 0,
      disabled: d.disabled_at !== null,
    }));
    return render(c, <DepartmentsPage departments={departments} {...extra} />, status);
  };

  app.get(
    "/admin/departments",
    async (c) => await departmentsPage(c, { notice: c.req.query("saved") ? "Saved." : undefined }),
  );

  app.post("/admin/departments", async (c) => {
    const form = await readForm(c, DepartmentForm);
    if (!form.ok) return await departmentsPage(c, { error: form.message }, 400);
    const { db, clock } = c.get("services");
    if (await findDepartmentByName(db, form.data.name)) {
      return await departmentsPage(
        c,
        { error: `A department named "${form.data.name}" already exists`, name: form.data.name },
        400,
      );
    }
    const now = clock.now();
    const id = newId();
    await db.transaction().execute(async (trx) => {
      await insertDepartment(trx, { id, name: form.data.name, now });
      // An admin works on the devices of their departments, so they join the one they create.
      const creator = currentUser(c);
      if (creator.role === "admin") {
        await trx.insertInto("user_departments").values({ user_id: creator.id, department_id: id })
          .execute();
      }
      await appendAudit(trx, {
        at: now,
        action: "department.created",
        actor: actor(c),
        departmentId: id,
        detail: { name: form.data.name },
      });
    });
    return c.redirect("/admin/departments?saved=1", 303);
  });

  const loadDepartment = async (c: Ctx) => {
    const db = c.get("services").db;
    const d = await findDepartment(db, c.req.param("id") ?? "");
    if (!d) throw new HttpError(404, "No such department");
    const members = (await memberCounts(db)).get(d.id) ?? 0;
    return { id: d.id, name: d.name, members, disabled: d.disabled_at !== null };
  };

  const groupsOf = async (c: Ctx, departmentId: string) => {
    const db = c.get("services").db;
    const groups = await listGroups(db, [departmentId]);
    const counts = await db.selectFrom("devices").select([
      "group_id",
      (eb) => eb.fn.countAll<number>().as("n"),
    ])
      .where("department_id", "=", departmentId).groupBy("group_id").execute();
    const byGroup = new Map(counts.map((r) => [r.group_id, r.n]));
    return groups.map((g) => ({ id: g.id, name: g.name, devices: byGroup.get(g.id) ?? 0 }));
  };

  app.get("/admin/departments/:id", async (c) => {
    const department = await loadDepartment(c);
    return render(
      c,
      <DepartmentPage
        department={department}
        groups={await groupsOf(c, department.id)}
        notice={c.req.query("saved") ? "Saved." : null}
      />,
    );
  });

  app.post("/admin/departments/:id", async (c) => {
    const department = await loadDepartment(c);
    const form = await readForm(c, DepartmentForm);
    if (!form.ok) {
      const groups = await groupsOf(c, department.id);
      return render(
        c,
        <DepartmentPage department={department} groups={groups} error={form.message} />,
        400,
      );
    }
    const { db, clock } = c.get("services");
    const clash = await findDepartmentByName(db, form.data.name);
    if (clash && clash.id !== department.id) {
      return render(
        c,
        <DepartmentPage
          department={department}
          groups={await groupsOf(c, department.id)}
          name={form.data.name}
          error={`A department named "${form.data.name}" already exists`}
        />,
        400,
      );
    }
    const now = clock.now();
    await db.transaction().execute(async (trx) => {
      await updateDepartment(trx, department.id, { name: form.data.name }, now);
      await appendAudit(trx, {
        at: now,
        action: "department.renamed",
        actor: actor(c),
        departmentId: department.id,
        detail: { from: department.name, to: form.data.name },
      });
    });
    return c.redirect(`/admin/departments/${department.id}?saved=1`, 303);
  });

  for (const [verb, disabled] of [["disable", true], ["enable", false]] as const) {
    app.post(`/admin/departments/:id/${verb}`, async (c) => {
      const department = await loadDepartment(c);
      const { db, clock } = c.get("services");
      const now = clock.now();
      await db.transaction().execute(async (trx) => {
        await updateDepartment(trx, department.id, { disabled_at: disabled ? now : null }, now);
        await appendAudit(trx, {
          at: now,
          action: `department.${verb}d`,
          actor: actor(c),
          departmentId: department.id,
          detail: { name: department.name },
        });
      });
      return c.redirect(`/admin/departments/${department.id}?saved=1`, 303);
    });
  }

  return app;
}

function formValues(raw: Record<string, unknown>): UserFormValues {
  const ids = raw.departmentIds;
  return {
    name: String(raw.name ?? ""),
    email: String(raw.email ?? ""),
    role: String(raw.role ?? "technician"),
    departmentIds: (Array.isArray(ids) ? ids : ids === undefined ? [] : [ids]).map(String),
  };
}
