/**
 * Reading the audit log as people: who did something, named with their role, and a support
 * session's story from open to end. Who may read a session's story is decided here: the
 * technician who held it, admins of the device's department and super admins.
 */
import type { Db } from "../store/db.ts";
import {
  type AuditEntry,
  findSessionSummary,
  sessionEvents,
  type SessionSummary,
} from "../store/audit.ts";
import type { CurrentUser } from "./accounts.ts";
import { type DepartmentScope, inScope, managedDepartments } from "./scope.ts";

/** An actor as a reader names them: a name and the role they acted in. */
export interface ActorName {
  name: string;
  role: string;
}

const ACCOUNT_ROLES: Readonly<Record<string, string>> = {
  super_admin: "Super admin",
  admin: "Admin",
  technician: "Technician",
};

/**
 * Names the actor of `e` from what was recorded and what is known now: a user's current name
 * (the recorded label when the account is gone), the device an end user or agent sat at, the
 * approver's address. Raw ids and key hashes are never the name.
 */
export function actorName(e: AuditEntry): ActorName {
  if (e.api_token_name !== null) {
    const owner = e.actor_name ?? e.actor_label ?? "a removed user";
    return { name: apiTokenActor(e.api_token_name, owner), role: "API token" };
  }
  const device = e.device_name ?? null;
  switch (e.actor_kind) {
    case "technician":
      return { name: e.actor_name ?? e.actor_label ?? "A removed user", role: "Technician" };
    case "user":
      return {
        name: e.actor_name ?? e.actor_label ?? "A removed user",
        role: ACCOUNT_ROLES[e.actor_role ?? ""] ?? "User",
      };
    case "approver":
      return { name: e.actor_label ?? e.actor_name ?? "An approver", role: "Approver" };
    case "end_user":
      return {
        name: device ? `End user at ${device}` : "End user",
        // The support app records the address it joined from.
        role: e.actor_label && e.actor_label !== e.device_id
          ? `End user (${e.actor_label})`
          : "End user",
      };
    case "agent":
      return device
        ? { name: device, role: "Device agent" }
        : { name: e.actor_label ? `Agent at ${e.actor_label}` : "An agent", role: "Device agent" };
    case "console":
      return { name: "Server console", role: "Console" };
    case "api":
      return { name: e.actor_label ?? "An API token", role: "API token" };
    case "system":
      return { name: "Assent", role: "System" };
    default:
      return { name: e.actor_label ?? e.actor_kind, role: e.actor_kind };
  }
}

/** "API token ‹name› (of ‹owner›)": who acted, when they acted through an API token. */
export function apiTokenActor(tokenName: string, owner: string): string {
  return `API token ${tokenName} (of ${owner})`;
}

/** Whether `viewer` may read the story of a session held by `technicianId` on a device of `departmentId`. */
export function oversees(
  viewer: CurrentUser,
  managed: DepartmentScope,
  session: { technicianId: string | null; departmentId: string | null },
): boolean {
  if (viewer.role === "super_admin") return true;
  if (session.technicianId !== null && session.technicianId === viewer.id) return true;
  return viewer.role === "admin" && session.departmentId !== null &&
    inScope(managed, session.departmentId);
}

/** A session's story: the session as it is now and every event, oldest first. */
export interface SessionTimeline {
  session: SessionSummary;
  events: AuditEntry[];
}

/** The timeline of session `id` for `viewer`, or null when there is none they may read. */
export async function sessionTimeline(
  db: Db,
  viewer: CurrentUser,
  id: string,
): Promise<SessionTimeline | null> {
  const session = await findSessionSummary(db, id);
  if (!session) return null;
  const managed = await managedDepartments(db, viewer);
  const may = oversees(viewer, managed, {
    technicianId: session.technician_id,
    departmentId: session.department_id,
  });
  if (!may) return null;
  return { session, events: await sessionEvents(db, id) };
}
