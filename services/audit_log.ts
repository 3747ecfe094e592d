/**
 * The audit log as people read it. What each viewer may read is decided here, never by the
 * filters they send: super admins the whole log, admins their departments and their own
 * actions, technicians their own work. Actors are named with their role, and a support
 * session's story from open to end is told to the technician who held it, admins of the
 * device's department and super admins.
 */
import {
  type AuditEntry,
  type AuditFilter,
  type AuditScope,
  findSessionSummary,
  searchAudit,
  sessionEvents,
  type SessionSummary,
  streamAudit,
  TIMELINE_LIMIT,
} from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { deviceNames } from "../store/devices.ts";
import { type RecordingRow, sessionRecordings } from "../store/recordings.ts";
import { listUsers } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";
import { type DepartmentScope, inScope, managedDepartments } from "./scope.ts";

export type { AuditEntry, AuditFilter, DepartmentScope };

/**
 * The viewer's reach over the log: the scope every query is bound to, the departments whose
 * devices they may open, and those they manage (whose sessions they oversee).
 */
export interface AuditReach {
  scope: AuditScope;
  departments: string[] | "all";
  managed: DepartmentScope;
}

/** An actor as a reader names them: a name and the role they acted in. */
export interface ActorName {
  name: string;
  role: string;
}

/**
 * Most devices the audit filter lists by name. Beyond it the list would weigh more than the
 * page (10,000 devices are ~750 KB of options on every view).
 */
export const DEVICE_CHOICES = 500;

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

/** A session's story: the session as it is now, every event oldest first, its recordings. */
export interface SessionTimeline {
  session: SessionSummary;
  events: AuditEntry[];
  /** The session has more events than a timeline shows. */
  truncated: boolean;
  recordings: RecordingRow[];
}

/** Reading and exporting the audit log within the viewer's reach. */
export class AuditLog {
  readonly #db: Db;

  constructor(deps: { db: Db }) {
    this.#db = deps.db;
  }

  /** Who may read what: the whole log, their departments plus themselves, or their own work. */
  async reach(viewer: CurrentUser): Promise<AuditReach> {
    const [departments, managed] = await Promise.all([
      visibleDepartments(this.#db, viewer),
      managedDepartments(this.#db, viewer),
    ]);
    return { scope: scopeOf(viewer, departments), departments, managed };
  }

  /** One page of entries (the filter carries the scope from {@link reach}). */
  async search(filter: AuditFilter) {
    return await searchAudit(this.#db, filter);
  }

  /** Every entry of the filter, in batches, for the CSV export. */
  stream(filter: Omit<AuditFilter, "before">): AsyncGenerator<AuditEntry> {
    return streamAudit(this.#db, filter);
  }

  /**
   * The devices and people the viewer may filter by; devices is null when there are more than
   * {@link DEVICE_CHOICES} (a fleet is filtered by a device's id, linked from its page).
   */
  async choices(viewer: CurrentUser, reach: Pick<AuditReach, "departments">): Promise<{
    devices: { id: string; name: string }[] | null;
    people: { id: string; name: string; email: string }[];
  }> {
    const [devices, users] = await Promise.all([
      deviceNames(this.#db, reach.departments, DEVICE_CHOICES + 1),
      listUsers(this.#db),
    ]);
    const people = viewer.role === "super_admin"
      ? users
      : viewer.role === "admin"
      ? users.filter((u) =>
        u.id === viewer.id || u.departmentIds.some((d) => canSee(reach.departments, d))
      )
      : users.filter((u) => u.id === viewer.id);
    return {
      devices: devices.length > DEVICE_CHOICES ? null : devices,
      people: people.map((u) => ({ id: u.id, name: u.name, email: u.email })),
    };
  }

  /** The timeline of session `id` for `viewer`, or null when there is none they may read. */
  async timeline(viewer: CurrentUser, id: string): Promise<SessionTimeline | null> {
    const session = await findSessionSummary(this.#db, id);
    if (!session) return null;
    const managed = await managedDepartments(this.#db, viewer);
    const may = oversees(viewer, managed, {
      technicianId: session.technician_id,
      departmentId: session.department_id,
    });
    if (!may) return null;
    const [events, recordings] = await Promise.all([
      sessionEvents(this.#db, id),
      sessionRecordings(this.#db, id),
    ]);
    return { session, events, truncated: events.length >= TIMELINE_LIMIT, recordings };
  }
}

function scopeOf(user: CurrentUser, departments: string[] | "all"): AuditScope {
  if (user.role === "super_admin") return { kind: "all" };
  if (user.role === "admin") {
    // Only super admins get "all"; should that ever change, an admin still fails closed.
    const departmentIds = departments === "all" ? [] : departments;
    return { kind: "departments", userId: user.id, departmentIds };
  }
  return { kind: "own", userId: user.id };
}
