/**
 * Admin pages for users and departments. What a viewer may see and change is decided by the
 * directory service (department scope); these handlers parse, call and render.
 */
import { Hono } from "hono";
import { AccountError } from "../services/accounts.ts";
import {
  DepartmentFields,
  DirectoryError,
  NewUserFields,
  type Role,
  UserFields,
} from "../services/directory.ts";
import { DepartmentPage, DepartmentsPage } from "../views/admin/DepartmentsPage.tsx";
import { UserFormPage, type UserFormValues, UsersPage } from "../views/admin/UsersPage.tsx";
import { ROLE_LABELS } from "../views/labels.ts";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { readForm } from "./forms.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

/**
 * A refusal the page shows beside the field it is about (400), or the error page for 403 and
 * 404. Refusals of the whole form are under "".
 */
function refusal(err: unknown): Record<string, string> {
  if (err instanceof DirectoryError) {
    if (err.status !== 400) throw new HttpError(err.status, err.message);
    return { [err.field ?? ""]: err.message };
  }
  if (err instanceof AccountError) {
    const field = err.code === "weak_password"
      ? "password"
      : err.code === "email_taken"
      ? "email"
      : "";
    return { [field]: err.message };
  }
  throw err;
}

/** Runs a directory call, turning 403/404 refusals into the error page. */
async function scoped<T>(run: Promise<T>): Promise<T> {
  try {
    return await run;
  } catch (err) {
    if (err instanceof DirectoryError) throw new HttpError(err.status, err.message);
    throw err;
  }
}

/** /admin/users and /admin/departments. */
export function adminRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/*", requireUser(), requireRole("super_admin", "admin"));
  const directory = (c: Ctx) => c.get("services").directory;

  app.get("/admin/users", async (c) => {
    const users = (await directory(c).users(currentUser(c))).map((u) => ({
      ...u,
      roleLabel: ROLE_LABELS[u.role],
    }));
    return render(c, <UsersPage users={users} notice={c.req.query("saved") ? "Saved." : null} />);
  });

  const userForm = async (
    c: Ctx,
    props: {
      mode: "create" | "edit";
      values: UserFormValues;
      target?: { id: string; disabled: boolean; mfaEnabled: boolean };
      errors?: Record<string, string>;
      notice?: string;
    },
    status: 200 | 400 = 200,
  ) => {
    const viewer = currentUser(c);
    const options = await directory(c).formOptions(viewer);
    return render(
      c,
      <UserFormPage
        mode={props.mode}
        userId={props.target?.id}
        values={props.values}
        roles={options.roles.map((r: Role) => ({ value: r, label: ROLE_LABELS[r] }))}
        departments={options.departments}
        errors={props.errors}
        notice={props.notice}
        status={props.target && {
          disabled: props.target.disabled,
          mfaEnabled: props.target.mfaEnabled,
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
    const form = await readForm(c, NewUserFields);
    const values = formValues(await c.req.parseBody({ all: true }));
    if (!form.ok) return await userForm(c, { mode: "create", values, errors: form.errors }, 400);
    try {
      await directory(c).createUser(currentUser(c), form.data);
    } catch (err) {
      return await userForm(c, { mode: "create", values, errors: refusal(err) }, 400);
    }
    return c.redirect("/admin/users?saved=1", 303);
  });

  const loadTarget = async (c: Ctx) => {
    const { user, departmentIds } = await scoped(
      directory(c).user(currentUser(c), c.req.param("id") ?? ""),
    );
    return {
      target: {
        id: user.id,
        disabled: user.disabled_at !== null,
        mfaEnabled: user.totp_enabled_at !== null,
      },
      values: { name: user.name, email: user.email, role: user.role, departmentIds },
    };
  };

  app.get("/admin/users/:id", async (c) => {
    const { target, values } = await loadTarget(c);
    return await userForm(c, {
      mode: "edit",
      target,
      values,
      notice: c.req.query("saved") ? "Saved." : undefined,
    });
  });

  app.post("/admin/users/:id", async (c) => {
    // Scope first: someone outside it learns nothing from how their form was wrong.
    const { target } = await loadTarget(c);
    const form = await readForm(c, UserFields);
    const values = formValues(await c.req.parseBody({ all: true }));
    const fail = (errors: Record<string, string>) =>
      userForm(c, { mode: "edit", target, values, errors }, 400);
    if (!form.ok) return await fail(form.errors);
    try {
      await directory(c).updateUser(currentUser(c), target.id, form.data);
    } catch (err) {
      return await fail(refusal(err));
    }
    return c.redirect(`/admin/users/${target.id}?saved=1`, 303);
  });

  for (const [verb, disabled] of [["disable", true], ["enable", false]] as const) {
    app.post(`/admin/users/:id/${verb}`, async (c) => {
      const id = c.req.param("id") ?? "";
      try {
        await directory(c).setUserDisabled(currentUser(c), id, disabled);
      } catch (err) {
        throw new HttpError(400, Object.values(refusal(err))[0] ?? "Not allowed");
      }
      return c.redirect(`/admin/users/${id}?saved=1`, 303);
    });
  }

  app.post("/admin/users/:id/reset-mfa", async (c) => {
    const id = c.req.param("id") ?? "";
    await scoped(directory(c).resetUserMfa(currentUser(c), id));
    return c.redirect(`/admin/users/${id}?saved=1`, 303);
  });

  // Departments

  const departmentsPage = async (
    c: Ctx,
    extra: { errors?: Record<string, string>; notice?: string; name?: string } = {},
    status: 200 | 400 = 200,
  ) => {
    const departments = await directory(c).departments(currentUser(c));
    return render(c, <DepartmentsPage departments={departments} {...extra} />, status);
  };

  app.get(
    "/admin/departments",
    async (c) => await departmentsPage(c, { notice: c.req.query("saved") ? "Saved." : undefined }),
  );

  app.post("/admin/departments", async (c) => {
    const form = await readForm(c, DepartmentFields);
    const name = String((await c.req.parseBody()).name ?? "");
    if (!form.ok) return await departmentsPage(c, { errors: form.errors, name }, 400);
    try {
      await directory(c).createDepartment(currentUser(c), form.data);
    } catch (err) {
      return await departmentsPage(c, { errors: refusal(err), name }, 400);
    }
    return c.redirect("/admin/departments?saved=1", 303);
  });

  const loadDepartment = (c: Ctx) =>
    scoped(directory(c).department(currentUser(c), c.req.param("id") ?? ""));

  app.get("/admin/departments/:id", async (c) => {
    const { department, groups } = await loadDepartment(c);
    return render(
      c,
      <DepartmentPage
        department={department}
        groups={groups}
        notice={c.req.query("saved") ? "Saved." : null}
      />,
    );
  });

  app.post("/admin/departments/:id", async (c) => {
    const { department, groups } = await loadDepartment(c);
    const form = await readForm(c, DepartmentFields);
    const name = String((await c.req.parseBody()).name ?? "");
    const page = (errors: Record<string, string>) =>
      render(
        c,
        <DepartmentPage department={department} groups={groups} name={name} errors={errors} />,
        400,
      );
    if (!form.ok) return page(form.errors);
    try {
      await directory(c).renameDepartment(currentUser(c), department.id, form.data);
    } catch (err) {
      return page(refusal(err));
    }
    return c.redirect(`/admin/departments/${department.id}?saved=1`, 303);
  });

  for (const [verb, disabled] of [["disable", true], ["enable", false]] as const) {
    app.post(`/admin/departments/:id/${verb}`, async (c) => {
      const id = c.req.param("id") ?? "";
      await scoped(directory(c).setDepartmentDisabled(currentUser(c), id, disabled));
      return c.redirect(`/admin/departments/${id}?saved=1`, 303);
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
