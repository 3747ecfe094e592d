/**
 * Users and departments as admins manage them, within their department scope (see scope.ts).
 * Out of scope answers 404 when the viewer cannot see the thing at all and 403 when they can
 * see it but not change it; either way nothing is changed. A change that takes access away
 * queues a revocation in the same transaction and is acted on before the call returns.
 */
import * as z from "zod";
import type { AccessRevocationCause } from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { newId } from "../lib/tokens.ts";
import type { AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import {
  type DepartmentRow,
  findDepartment,
  findDepartmentByName,
  insertDepartment,
  listDepartments,
  memberCounts,
  updateDepartment,
} from "../store/departments.ts";
import { listGroups } from "../store/devices.ts";
import type { Role } from "../store/schema.ts";
export type { Role };
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
import type { Accounts, CurrentUser } from "./accounts.ts";
import { email, type FormResult, many, parseWith, password, text } from "./fields.ts";
import type { AccessRevocations } from "./revocations.ts";
import { queueRevocation } from "./revocations.ts";
import {
  type DepartmentScope,
  grantableRoles,
  inScope,
  managedDepartments,
  type UserAccess,
  userAccess,
} from "./scope.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** A refusal with the status to answer, a sentence to show, and the field it is about. */
export class DirectoryError extends Error {
  override name = "DirectoryError";
  constructor(readonly status: 400 | 403 | 404, message: string, readonly field?: string) {
    super(message);
  }
}

/** The roles a user may have. */
export const ROLES = ["super_admin", "admin", "technician"] as const;

/** A user's fields, checked the same for the admin pages and the console. */
export const UserFields = z.object({
  name: text("Name", 100),
  email: email(),
  role: z.enum(ROLES, { error: "Choose a role" }),
  departmentIds: many(),
});

/** A new user's fields: a user's, with the initial password. */
export const NewUserFields = UserFields.extend({ password: password("Initial password") });

/** A department's fields. */
export const DepartmentFields = z.object({ name: text("Name", 100) });

/**
 * Who asks the directory: a signed-in user, or the server console (`assent admin`), which has
 * a super admin's reach and is recorded as the console.
 */
export type Operator = CurrentUser & { console?: true };

/** The server console as an operator. */
export const CONSOLE_OPERATOR: Operator = Object.freeze({
  id: "console",
  email: "console",
  name: "Console",
  role: "super_admin" as const,
  mfaEnabled: true,
  console: true as const,
});

/** What the directory needs. */
export interface DirectoryDeps {
  db: Db;
  /** Where each change is saved with its audit record, in one transaction. */
  work: UnitOfWork;
  clock: Clock;
  accounts: Accounts;
  revocations: AccessRevocations;
}

/** A user as the admin list shows them. */
export interface DirectoryUser {
  id: string;
  name: string;
  email: string;
  role: Role;
  /** Names of the departments the viewer can see; others are left out. */
  departments: string[];
  mfaEnabled: boolean;
  disabled: boolean;
  editable: boolean;
}

/** A department as the admin pages show it. */
export interface DirectoryDepartment {
  id: string;
  name: string;
  members: number;
  disabled: boolean;
}

/** The fields of the user form. */
export interface UserInput {
  name: string;
  email: string;
  role: Role;
  departmentIds: string[];
}

const NO_USER = "No such user";
const NO_DEPARTMENT = "No such department";
const OUT_OF_SCOPE = "You can only place users in departments you manage";

/** User and department administration bound to the viewer's scope. */
export class Directory {
  readonly #d: DirectoryDeps;

  constructor(deps: DirectoryDeps) {
    this.#d = deps;
  }

  // --- users

  /** The users the viewer may see, by name. */
  async users(viewer: Operator): Promise<DirectoryUser[]> {
    const managed = await managedDepartments(this.#d.db, viewer);
    const names = new Map((await listDepartments(this.#d.db)).map((d) => [d.id, d.name]));
    const out: DirectoryUser[] = [];
    for (const u of await listUsers(this.#d.db)) {
      const access = userAccess(viewer, managed, u);
      if (access === "none") continue;
      out.push({
        id: u.id,
        name: u.name,
        email: u.email,
        role: u.role,
        departments: u.departmentIds.filter((d) => inScope(managed, d))
          .map((d) => names.get(d) ?? "").filter(Boolean).sort(),
        mfaEnabled: u.totp_enabled_at !== null,
        disabled: u.disabled_at !== null,
        editable: access === "manage",
      });
    }
    return out;
  }

  /** How many users the viewer may see. */
  async userCount(viewer: Operator): Promise<number> {
    return (await this.users(viewer)).length;
  }

  /** A user the viewer manages, with their departments (404 unseen, 403 seen but not theirs). */
  async user(viewer: Operator, id: string): Promise<{ user: UserRow; departmentIds: string[] }> {
    const { user, departmentIds } = await this.#target(viewer, id);
    return { user, departmentIds };
  }

  /** A user the viewer manages, found by email (404 when there is none they can see). */
  async userByEmail(viewer: Operator, email: string): Promise<UserRow> {
    const found = await findUserByEmail(this.#d.db, email.trim());
    if (!found) throw new DirectoryError(404, `No user with email "${email}"`);
    return (await this.#target(viewer, found.id)).user;
  }

  /** Sets a new password for a user the viewer manages; their sign-ins and live access end. */
  async resetUserPassword(viewer: Operator, id: string, password: string): Promise<void> {
    const { user } = await this.#target(viewer, id);
    await this.#d.accounts.setPassword(user.id, password, actorOf(viewer));
  }

  /** The roles and departments the viewer may put in the user form. */
  async formOptions(viewer: Operator): Promise<{
    roles: Role[];
    departments: { id: string; name: string }[];
  }> {
    const managed = await managedDepartments(this.#d.db, viewer);
    const departments = (await listDepartments(this.#d.db))
      .filter((d) => d.disabled_at === null && inScope(managed, d.id))
      .map((d) => ({ id: d.id, name: d.name }));
    return { roles: grantableRoles(viewer), departments };
  }

  /** Creates a user in departments the viewer manages, with a role they may grant. */
  async createUser(viewer: Operator, fields: UserInput & { password: string }): Promise<string> {
    const input = checked(NewUserFields, fields);
    await this.#checkPlacement(viewer, input);
    const departmentIds = [...new Set(input.departmentIds)];
    return await this.#d.accounts.createUser(
      input,
      actorOf(viewer),
      (trx, id) => setUserDepartments(trx, id, departmentIds),
    );
  }

  /**
   * Changes a user's name, email, role and departments. Removing a department or demoting a
   * super admin ends the access the user no longer has; the last enabled super admin cannot be
   * demoted, checked inside the transaction so two demotions at once cannot both pass.
   */
  async updateUser(viewer: Operator, id: string, fields: UserInput): Promise<void> {
    const input = checked(UserFields, fields);
    const target = await this.#target(viewer, id);
    await this.#checkPlacement(viewer, input);
    const { db, clock } = this.#d;
    const other = await findUserByEmail(db, input.email);
    if (other && other.id !== id) {
      throw new DirectoryError(400, `A user with email "${input.email}" already exists`, "email");
    }
    const departmentIds = [...new Set(input.departmentIds)];
    const removed = target.departmentIds.some((d) => !departmentIds.includes(d));
    const demoted = target.user.role === "super_admin" && input.role !== "super_admin";
    const now = clock.now();
    await this.#d.work.run(async (tx) => {
      await updateUser(tx.db, id, { name: input.name, email: input.email, role: input.role }, now);
      await setUserDepartments(tx.db, id, departmentIds);
      if (demoted) await this.#keepASuperAdmin(tx.db, "demoted");
      const cause: AccessRevocationCause | null = removed
        ? "removed_from_department"
        : demoted
        ? "role_changed"
        : null;
      if (cause) await queueRevocation(tx.db, { kind: "user", id }, cause, actorOf(viewer), now);
      await tx.audit({
        at: now,
        action: "user.updated",
        actor: actorOf(viewer),
        detail: {
          user: input.email.toLowerCase(),
          role: input.role,
          departments: departmentIds.join(","),
        },
      });
    });
    await this.#settle(viewer);
  }

  /** Disables (ending their sessions and live access) or enables a user. */
  async setUserDisabled(viewer: Operator, id: string, disabled: boolean): Promise<void> {
    const { user } = await this.#target(viewer, id);
    if (disabled && user.id === viewer.id) {
      throw new DirectoryError(400, "You cannot disable yourself");
    }
    const { clock } = this.#d;
    const now = clock.now();
    await this.#d.work.run(async (tx) => {
      await updateUser(tx.db, user.id, { disabled_at: disabled ? now : null }, now);
      if (disabled) {
        if (user.role === "super_admin") await this.#keepASuperAdmin(tx.db, "disabled");
        await deleteUserSessions(tx.db, user.id);
        await queueRevocation(
          tx.db,
          { kind: "user", id: user.id },
          "user_disabled",
          actorOf(viewer),
          now,
        );
      }
      await tx.audit({
        at: now,
        action: disabled ? "user.disabled" : "user.enabled",
        actor: actorOf(viewer),
        detail: { user: user.email },
      });
    });
    await this.#settle(viewer);
  }

  /** Removes a user's MFA; their sign-ins and live access end (see Accounts.clearMfa). */
  async resetUserMfa(viewer: Operator, id: string): Promise<void> {
    const { user } = await this.#target(viewer, id);
    await this.#d.accounts.clearMfa(user.id, actorOf(viewer));
    await this.#settle(viewer);
  }

  // --- departments

  /** The departments the viewer manages, by name. */
  async departments(viewer: Operator): Promise<DirectoryDepartment[]> {
    const managed = await managedDepartments(this.#d.db, viewer);
    const counts = await memberCounts(this.#d.db);
    return (await listDepartments(this.#d.db)).filter((d) => inScope(managed, d.id))
      .map((d) => departmentItem(d, counts));
  }

  /** A department the viewer manages, with its groups (404 otherwise). */
  async department(viewer: Operator, id: string): Promise<{
    department: DirectoryDepartment;
    groups: { id: string; name: string; devices: number }[];
  }> {
    const row = await this.#department(viewer, id);
    const db = this.#d.db;
    const groups = await listGroups(db, [row.id]);
    const counts = await db.selectFrom("devices").select([
      "group_id",
      (eb) => eb.fn.countAll<number>().as("n"),
    ]).where("department_id", "=", row.id).groupBy("group_id").execute();
    const byGroup = new Map(counts.map((r) => [r.group_id, r.n]));
    return {
      department: departmentItem(row, await memberCounts(db)),
      groups: groups.map((g) => ({ id: g.id, name: g.name, devices: byGroup.get(g.id) ?? 0 })),
    };
  }

  /** Creates a department; an admin who creates one joins it, since they are to manage it. */
  async createDepartment(viewer: Operator, fields: { name: string }): Promise<string> {
    const { name } = checked(DepartmentFields, fields);
    if (viewer.role === "technician") {
      throw new DirectoryError(403, "Your role does not allow this page");
    }
    const { db, clock } = this.#d;
    if (await findDepartmentByName(db, name)) {
      throw new DirectoryError(400, `A department named "${name}" already exists`, "name");
    }
    const now = clock.now();
    const id = newId();
    await this.#d.work.run(async (tx) => {
      await insertDepartment(tx.db, { id, name, now });
      if (viewer.role === "admin") {
        await tx.db.insertInto("user_departments").values({ user_id: viewer.id, department_id: id })
          .execute();
      }
      await tx.audit({
        at: now,
        action: "department.created",
        actor: actorOf(viewer),
        departmentId: id,
        detail: { name },
      });
    });
    return id;
  }

  /** Renames a department the viewer manages. */
  async renameDepartment(viewer: Operator, id: string, fields: { name: string }): Promise<void> {
    const { name } = checked(DepartmentFields, fields);
    const department = await this.#department(viewer, id);
    const { db, clock } = this.#d;
    const clash = await findDepartmentByName(db, name);
    if (clash && clash.id !== department.id) {
      throw new DirectoryError(400, `A department named "${name}" already exists`, "name");
    }
    const now = clock.now();
    await this.#d.work.run(async (tx) => {
      await updateDepartment(tx.db, department.id, { name }, now);
      await tx.audit({
        at: now,
        action: "department.renamed",
        actor: actorOf(viewer),
        departmentId: department.id,
        detail: { from: department.name, to: name },
      });
    });
  }

  /** Disables (ending every live access to its devices) or enables a department. */
  async setDepartmentDisabled(viewer: Operator, id: string, disabled: boolean): Promise<void> {
    const department = await this.#department(viewer, id);
    const { clock } = this.#d;
    const now = clock.now();
    await this.#d.work.run(async (tx) => {
      await updateDepartment(tx.db, department.id, { disabled_at: disabled ? now : null }, now);
      if (disabled) {
        await queueRevocation(
          tx.db,
          { kind: "department", id: department.id },
          "department_disabled",
          actorOf(viewer),
          now,
        );
      }
      await tx.audit({
        at: now,
        action: disabled ? "department.disabled" : "department.enabled",
        actor: actorOf(viewer),
        departmentId: department.id,
        detail: { name: department.name },
      });
    });
    await this.#settle(viewer);
  }

  /**
   * Acts on the revocations a change queued before answering. The console leaves them to the
   * server, which holds the live connections and polls the queue.
   */
  async #settle(viewer: Operator): Promise<void> {
    if (!viewer.console) await this.#d.revocations.runNow();
  }

  // --- scope checks

  async #target(
    viewer: Operator,
    id: string,
  ): Promise<{ user: UserRow; departmentIds: string[]; access: UserAccess }> {
    const db = this.#d.db;
    const user = await findUser(db, id);
    if (!user) throw new DirectoryError(404, NO_USER);
    const departmentIds = await userDepartmentIds(db, user.id);
    const access = userAccess(viewer, await managedDepartments(db, viewer), {
      ...user,
      departmentIds,
    });
    if (access === "none") throw new DirectoryError(404, NO_USER);
    if (access === "view") {
      throw new DirectoryError(
        403,
        user.role === "technician"
          ? "This user also belongs to a department you do not manage; ask a super admin"
          : "Only a super admin can manage admins and super admins",
      );
    }
    return { user, departmentIds, access };
  }

  async #department(viewer: Operator, id: string): Promise<DepartmentRow> {
    const db = this.#d.db;
    const row = await findDepartment(db, id);
    if (!row || !inScope(await managedDepartments(db, viewer), row.id)) {
      throw new DirectoryError(404, NO_DEPARTMENT);
    }
    return row;
  }

  /** The role must be one the viewer may grant, and every department one they manage. */
  async #checkPlacement(viewer: Operator, input: UserInput): Promise<void> {
    if (!grantableRoles(viewer).includes(input.role)) {
      throw new DirectoryError(403, "Only a super admin can grant that role");
    }
    const managed: DepartmentScope = await managedDepartments(this.#d.db, viewer);
    const enabled = new Set(
      (await listDepartments(this.#d.db)).filter((d) => d.disabled_at === null).map((d) => d.id),
    );
    if (!input.departmentIds.every((d) => inScope(managed, d))) {
      throw new DirectoryError(403, OUT_OF_SCOPE);
    }
    if (!input.departmentIds.every((d) => enabled.has(d))) {
      throw new DirectoryError(
        400,
        "One of the chosen departments does not exist",
        "departmentIds",
      );
    }
    // An admin's technician must stay in one of the admin's departments, or nobody but a super
    // admin could find them again.
    if (viewer.role !== "super_admin" && input.departmentIds.length === 0) {
      throw new DirectoryError(400, "Choose at least one department", "departmentIds");
    }
  }

  /** Throws (rolling the transaction back) when no enabled super admin would be left. */
  async #keepASuperAdmin(trx: Db, how: "demoted" | "disabled"): Promise<void> {
    if (await countActiveSuperAdmins(trx) >= 1) return;
    throw new DirectoryError(
      400,
      how === "demoted"
        ? "This is the last super admin; make someone else super admin first"
        : "This is the last super admin and cannot be disabled",
    );
  }
}

/** How the audit log names an operator. */
export function actorOf(viewer: Operator): AuditRecord["actor"] {
  if (viewer.console) return { kind: "console", label: "console" };
  return { kind: "user", id: viewer.id, label: viewer.email };
}

/** `fields` as `schema` checks them; the first problem is a 400 with its sentence. */
function checked<S extends z.ZodType>(schema: S, fields: unknown): z.infer<S> {
  const result: FormResult<z.infer<S>> = parseWith(schema, fields);
  if (!result.ok) throw new DirectoryError(400, result.message);
  return result.data;
}

function departmentItem(d: DepartmentRow, counts: Map<string, number>): DirectoryDepartment {
  return {
    id: d.id,
    name: d.name,
    members: counts.get(d.id) ?? 0,
    disabled: d.disabled_at !== null,
  };
}
