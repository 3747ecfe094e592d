/**
 * A department's Session Confirmation settings for API clients: read by whoever may see the
 * department, changed only by its admins, every change audited as `policy.changed` in the
 * transaction that saves it. Exclusions stay on the settings page.
 */
import { type ConfirmationPolicy, confirmationPolicy, CoreError } from "../core/mod.ts";
import type { Db } from "../store/db.ts";
import { findDepartment } from "../store/departments.ts";
import { loadPolicies, savePolicies } from "../store/policies.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";
import { administers } from "./scope.ts";
import { SessionError } from "./sessions.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** The fields an API client reads and writes; exclusions are listed, not written. */
export type ConfirmationSettings = Omit<
  ConfirmationPolicy,
  "excludedDeviceIds" | "excludedGroupIds"
>;

/** Departments' Session Confirmation settings as API clients read and change them. */
export class ConsentSettings {
  readonly #d: { work: UnitOfWork };

  constructor(deps: { work: UnitOfWork }) {
    this.#d = deps;
  }

  /** The department's confirmation settings with its exclusions; 404 outside the viewer's reach. */
  async read(user: CurrentUser, departmentId: string): Promise<ConfirmationPolicy> {
    const db = this.#d.work.db;
    await visibleDepartment(db, user, departmentId);
    return (await loadPolicies(db, departmentId)).confirmation;
  }

  /**
   * Changes the fields given over the department's current settings; 403 for anyone but its
   * admins, 400 with the policy's own sentence for a bad value, and nothing saved then.
   */
  async change(
    user: CurrentUser,
    departmentId: string,
    input: Partial<ConfirmationSettings>,
  ): Promise<ConfirmationPolicy> {
    const { work } = this.#d;
    await visibleDepartment(work.db, user, departmentId);
    if (!await administers(work.db, user, departmentId)) {
      throw new SessionError("forbidden", "Only the department's admins change its settings", 403);
    }
    return await work.run(async (tx) => {
      const current = await loadPolicies(tx.db, departmentId);
      let next: ConfirmationPolicy;
      try {
        // An explicit mode decides on or off too, whatever `enabled` was before.
        const enabled = input.enabled ??
          (input.mode !== undefined ? input.mode !== "off" : current.confirmation.enabled);
        next = confirmationPolicy({ ...current.confirmation, ...input, enabled });
      } catch (err) {
        if (err instanceof CoreError) throw new SessionError("invalid_request", err.message, 400);
        throw err;
      }
      const changes: Record<string, string> = {};
      for (const key of Object.keys(input) as (keyof ConfirmationSettings)[]) {
        const before = JSON.stringify(current.confirmation[key]);
        const after = JSON.stringify(next[key]);
        if (before !== after) changes[key] = `${before} → ${after}`;
      }
      if (Object.keys(changes).length > 0) {
        await savePolicies(
          tx.db,
          departmentId,
          { ...current, confirmation: next },
          user.email,
          tx.now,
        );
        await tx.audit({
          action: "policy.changed",
          actor: { kind: "user", id: user.id, label: user.email },
          departmentId,
          detail: changes,
        });
      }
      return next;
    });
  }
}

async function visibleDepartment(db: Db, user: CurrentUser, departmentId: string) {
  const department = await findDepartment(db, departmentId);
  if (!department || !canSee(await visibleDepartments(db, user), department.id)) {
    throw new SessionError("not_found", "There is no such department", 404);
  }
}
