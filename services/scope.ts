/**
 * Department scope: who administers what. Super admins administer everything. An admin
 * administers the departments they belong to, and the technicians who belong only to those
 * departments. Technicians administer nothing. Every service that reads or changes users,
 * departments, groups, devices, policies, sessions or the audit log on behalf of a signed-in
 * user asks here, so the web pages, the JSON API and the console follow one rule.
 */
import type { Db } from "../store/db.ts";
import type { Role } from "../store/schema.ts";
import { userDepartmentIds } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";

/** Department ids, or every department. */
export type DepartmentScope = string[] | "all";

/**
 * The departments `user` administers: every one for a super admin; for an admin the ones they
 * belong to, disabled ones included (so they can enable them again); none for a technician.
 */
export async function managedDepartments(db: Db, user: CurrentUser): Promise<DepartmentScope> {
  if (user.role === "super_admin") return "all";
  if (user.role !== "admin") return [];
  return await userDepartmentIds(db, user.id);
}

/** Whether `scope` includes `departmentId`. */
export function inScope(scope: DepartmentScope, departmentId: string): boolean {
  return scope === "all" || scope.includes(departmentId);
}

/** Whether `user` administers the department `departmentId`. */
export async function administers(
  db: Db,
  user: CurrentUser,
  departmentId: string,
): Promise<boolean> {
  return inScope(await managedDepartments(db, user), departmentId);
}

/** What a viewer may do with a user account. */
export type UserAccess = "manage" | "view" | "none";

/**
 * What `viewer` may do with `target`, given the departments the viewer administers.
 *
 * Super admins manage everyone. An admin sees the accounts that share one of their departments
 * (and their own), and manages a technician only when every department of that technician is
 * one the admin administers: a technician who also belongs to a department the admin does not
 * administer is left to a super admin, since any change (a new email, MFA reset, disabling)
 * would reach into that other department too. An account in no department is a super admin's
 * to place. Admins and super admins are managed only by super admins.
 */
export function userAccess(
  viewer: { id: string; role: Role },
  managed: DepartmentScope,
  target: { id: string; role: Role; departmentIds: string[] },
): UserAccess {
  if (viewer.role === "super_admin") return "manage";
  if (viewer.role !== "admin") return "none";
  const shared = target.departmentIds.some((d) => inScope(managed, d));
  if (!shared) return target.id === viewer.id ? "view" : "none";
  const all = target.departmentIds.every((d) => inScope(managed, d));
  return target.role === "technician" && all ? "manage" : "view";
}

/** Roles `viewer` may give: super admins any, admins only technician. */
export function grantableRoles(viewer: { role: Role }): Role[] {
  return viewer.role === "super_admin" ? ["super_admin", "admin", "technician"] : ["technician"];
}
