/**
 * The audit log as people read it. What each viewer may read is decided here, never by the
 * filters they send: super admins the whole log, admins their departments and their own
 * actions, technicians their own work.
 */
import {
  type AuditEntry,
  type AuditFilter,
  type AuditScope,
  searchAudit,
  streamAudit,
} from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { listDevices } from "../store/devices.ts";
import { listUsers } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";

export type { AuditEntry, AuditFilter };

/** The viewer's reach over the log: the scope every query is bound to, and their departments. */
export interface AuditReach {
  scope: AuditScope;
  departments: string[] | "all";
}

/** Reading and exporting the audit log within the viewer's reach. */
export class AuditLog {
  readonly #db: Db;

  constructor(deps: { db: Db }) {
    this.#db = deps.db;
  }

  /** Who may read what: the whole log, their departments plus themselves, or their own work. */
  async reach(viewer: CurrentUser): Promise<AuditReach> {
    const departments = await visibleDepartments(this.#db, viewer);
    return { scope: scopeOf(viewer, departments), departments };
  }

  /** One page of entries (the filter carries the scope from {@link reach}). */
  async search(filter: AuditFilter) {
    return await searchAudit(this.#db, filter);
  }

  /** Every entry of the filter, in batches, for the CSV export. */
  stream(filter: Omit<AuditFilter, "before">): AsyncGenerator<AuditEntry> {
    return streamAudit(this.#db, filter);
  }

  /** The devices and people the viewer may filter by. */
  async choices(viewer: CurrentUser, reach: Pick<AuditReach, "departments">): Promise<{
    devices: { id: string; name: string }[];
    people: { id: string; name: string; email: string }[];
  }> {
    const [devices, users] = await Promise.all([
      listDevices(this.#db, reach.departments),
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
      devices: devices.map((d) => ({ id: d.id, name: d.name })),
      people: people.map((u) => ({ id: u.id, name: u.name, email: u.email })),
    };
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
