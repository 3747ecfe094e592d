/**
 * Department settings (R2–R4) as use cases: Session Confirmation, Secure Connect, the
 * authorization lifetime and what file transfer may reach, with their exclusions. Admins
 * configure the departments they see, super admins every one; core decides who may change
 * Secure Connect and whether a policy is valid. Every change is loaded, decided, saved and
 * audited with the fields it changed in one transaction, so a concurrent save of another
 * section is not lost and a second click finds nothing left to do.
 */
import {
  authorizationPolicy,
  changeSecureConnect,
  confirmationPolicy,
  fileTransferPolicy,
  isCoreError,
  recordingPolicy,
  type SecureConnectPolicy,
} from "../core/mod.ts";
import type { Db } from "../store/db.ts";
import { findDepartment, listDepartments } from "../store/departments.ts";
import {
  type Device,
  type DeviceGroupRow,
  findDevice,
  findGroup,
  listDevices,
  listGroups,
} from "../store/devices.ts";
import {
  addExclusion,
  type DepartmentPolicies,
  type Exclusion,
  listExclusions,
  loadPolicies,
  removeExclusion,
  savePolicies,
} from "../store/policies.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

export type { DepartmentPolicies, Exclusion };

/** A refusal with the status to answer and a sentence to show. */
export class SettingsError extends Error {
  override name = "SettingsError";
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/** A department the viewer may configure. */
export interface SettingsDepartment {
  id: string;
  name: string;
  disabled: boolean;
}

/** An exclusion with what it excludes, as the page and the audit name it. */
export interface DescribedExclusion {
  id: number;
  policy: Exclusion["policy"];
  kind: Exclusion["targetKind"];
  targetId: string;
  excludedBy: string;
  name: string;
  os: string;
  ip: string;
}

/** Everything the settings page of one department shows. */
export interface DepartmentSettingsView {
  department: SettingsDepartment;
  policies: DepartmentPolicies;
  exclusions: DescribedExclusion[];
  devices: Device[];
  groups: DeviceGroupRow[];
  /** Core lets the viewer change Secure Connect. */
  secureConnectEditable: boolean;
}

/** The new file-transfer reach: folders already checked one by one. */
export interface FileTransferInput {
  userHomes: boolean;
  paths: string[];
}

/** Department settings bound to the departments the viewer sees. */
export class DepartmentSettings {
  readonly #d: { db: Db; work: UnitOfWork };

  constructor(deps: { db: Db; work: UnitOfWork }) {
    this.#d = deps;
  }

  /** The departments the viewer may configure, with the headline of each one's policies. */
  async overview(viewer: CurrentUser): Promise<
    (SettingsDepartment & {
      confirmation: boolean;
      secureConnect: boolean;
      lifetimeMinutes: number;
    })[]
  > {
    const db = this.#d.db;
    const visible = await visibleDepartments(db, viewer);
    const departments = (await listDepartments(db)).filter((d) => canSee(visible, d.id));
    return await Promise.all(departments.map(async (d) => {
      const p = await loadPolicies(db, d.id);
      return {
        id: d.id,
        name: d.name,
        disabled: d.disabled_at !== null,
        confirmation: p.confirmation.enabled,
        secureConnect: p.secureConnect.enabled,
        lifetimeMinutes: p.authorization.lifetimeMinutes,
      };
    }));
  }

  /** A department the viewer may configure; one they cannot see answers 404 like a missing one. */
  async department(viewer: CurrentUser, id: string): Promise<SettingsDepartment> {
    const db = this.#d.db;
    const found = canSee(await visibleDepartments(db, viewer), id)
      ? await findDepartment(db, id)
      : undefined;
    if (!found) throw new SettingsError(404, "No such department");
    return { id: found.id, name: found.name, disabled: found.disabled_at !== null };
  }

  /** The policies, exclusions, devices and groups of a department the viewer may configure. */
  async view(viewer: CurrentUser, departmentId: string): Promise<DepartmentSettingsView> {
    const department = await this.department(viewer, departmentId);
    const db = this.#d.db;
    const [policies, exclusions, devices, groups] = await Promise.all([
      loadPolicies(db, department.id),
      listExclusions(db, department.id),
      listDevices(db, [department.id]),
      listGroups(db, [department.id]),
    ]);
    const targets = targetsOf(devices, groups);
    return {
      department,
      policies,
      exclusions: await Promise.all(exclusions.map(async (e) => ({
        id: e.id,
        policy: e.policy,
        kind: e.targetKind,
        targetId: e.targetId,
        excludedBy: e.excludedBy,
        ...await describe(db, targets, e),
      }))),
      devices,
      groups,
      secureConnectEditable: mayChangeSecureConnect(policies.secureConnect, viewer),
    };
  }

  /** Refuses (core's `forbidden`) a viewer who may not change Secure Connect. */
  async assertMayChangeSecureConnect(viewer: CurrentUser, departmentId: string): Promise<void> {
    const policies = await loadPolicies(this.#d.db, departmentId);
    changeSecureConnect(policies.secureConnect, {}, secureConnectActor(viewer));
  }

  /** Changes Session Confirmation (core checks the policy). */
  async changeConfirmation(
    viewer: CurrentUser,
    departmentId: string,
    fields: Partial<DepartmentPolicies["confirmation"]>,
  ): Promise<void> {
    await this.#update(viewer, departmentId, "policy.changed", (current) => {
      const next = confirmationPolicy({ ...current.confirmation, ...fields });
      return {
        next: { ...current, confirmation: next },
        changes: changedFields(current.confirmation, next, Object.keys(fields)),
      };
    });
  }

  /** Changes Secure Connect; core refuses anyone but a super admin, and one without MFA. */
  async changeSecureConnect(
    viewer: CurrentUser,
    departmentId: string,
    fields: Partial<SecureConnectPolicy>,
  ): Promise<void> {
    const actor = secureConnectActor(viewer);
    await this.#update(viewer, departmentId, "secure_connect.policy_changed", (current) => {
      const next = changeSecureConnect(current.secureConnect, fields, actor);
      return {
        next: { ...current, secureConnect: next },
        changes: changedFields(current.secureConnect, next, Object.keys(fields)),
      };
    });
  }

  /** Changes the authorization lifetime (core checks the range). */
  async changeAuthorization(
    viewer: CurrentUser,
    departmentId: string,
    fields: Partial<DepartmentPolicies["authorization"]>,
  ): Promise<void> {
    await this.#update(viewer, departmentId, "policy.changed", (current) => {
      const next = authorizationPolicy({ ...current.authorization, ...fields });
      // An unset flag and false read the same, so saving the form unchanged records nothing.
      const flags = (p: typeof next) => ({ ...p, requireReason: p.requireReason === true });
      return {
        next: { ...current, authorization: next },
        changes: changedFields(flags(current.authorization), flags(next), Object.keys(fields)),
      };
    });
  }

  /** Changes terminal recording and how long recordings are kept (core checks the range). */
  async changeRecording(
    viewer: CurrentUser,
    departmentId: string,
    input: DepartmentPolicies["recording"],
  ): Promise<void> {
    await this.#update(viewer, departmentId, "policy.changed", (current) => {
      const next = recordingPolicy(input);
      const changes: Record<string, string> = {};
      if (current.recording.terminal !== next.terminal) {
        changes.terminalRecording = `${current.recording.terminal} → ${next.terminal}`;
      }
      if (current.recording.retentionDays !== next.retentionDays) {
        changes.recordingRetentionDays =
          `${current.recording.retentionDays} → ${next.retentionDays}`;
      }
      return { next: { ...current, recording: next }, changes };
    });
  }

  /** Changes what file transfer may reach. */
  async changeFileTransfer(
    viewer: CurrentUser,
    departmentId: string,
    input: FileTransferInput,
  ): Promise<void> {
    await this.#update(viewer, departmentId, "policy.changed", (current) => {
      const before = current.fileTransfer;
      const next = fileTransferPolicy(input);
      const changes: Record<string, string> = {};
      if (before.userHomes !== next.userHomes) {
        changes.fileTransferUserHomes = `${before.userHomes} → ${next.userHomes}`;
      }
      const list = (p: string[]) => p.length === 0 ? "none" : p.join(", ");
      if (list(before.paths) !== list(next.paths)) {
        changes.fileTransferPaths = `${list(before.paths)} → ${list(next.paths)}`;
      }
      return { next: { ...current, fileTransfer: next }, changes };
    });
  }

  /**
   * Excludes a device or group of the department from a policy's gate. Core checks the new list
   * as it would any policy (and, for Secure Connect, the role again), in the transaction that
   * adds it; an exclusion that is already there is refused.
   */
  async addExclusion(
    viewer: CurrentUser,
    departmentId: string,
    policy: Exclusion["policy"],
    target: { kind: Exclusion["targetKind"]; id: string },
  ): Promise<void> {
    const department = await this.department(viewer, departmentId);
    if (policy === "secure_connect") await this.assertMayChangeSecureConnect(viewer, department.id);
    const { kind, id } = target;
    if (policy === "secure_connect" && kind === "group") {
      throw new SettingsError(400, "Secure Connect exclusions can only be devices");
    }
    const { db, work } = this.#d;
    const found = kind === "device" ? await findDevice(db, id) : await findGroup(db, id);
    if (!found || found.department_id !== department.id) {
      throw new SettingsError(400, `Choose a ${kind} of this department`);
    }
    const added = await work.run(async ({ db: trx, now, audit }) => {
      const current = await loadPolicies(trx, department.id);
      if (policy === "secure_connect") {
        const ids = [...current.secureConnect.excludedDeviceIds, id];
        changeSecureConnect(
          current.secureConnect,
          { excludedDeviceIds: ids },
          secureConnectActor(viewer),
        );
      } else {
        const list = kind === "device" ? "excludedDeviceIds" : "excludedGroupIds";
        confirmationPolicy({
          ...current.confirmation,
          [list]: [...current.confirmation[list], id],
        });
      }
      const fresh = await addExclusion(trx, {
        departmentId: department.id,
        policy,
        targetKind: kind,
        targetId: id,
        by: viewer.email,
        now,
      });
      if (!fresh) return false;
      await audit({
        action: "policy.exclusion_added",
        actor: auditActor(viewer),
        departmentId: department.id,
        deviceId: kind === "device" ? id : null,
        detail: { policy, kind, target: found.name },
      });
      return true;
    });
    if (!added) throw new SettingsError(400, `"${found.name}" is already excluded`);
  }

  /** Removes an exclusion; a second removal (another click, another admin) changes nothing. */
  async removeExclusion(
    viewer: CurrentUser,
    departmentId: string,
    exclusionId: number,
  ): Promise<Exclusion["policy"]> {
    const department = await this.department(viewer, departmentId);
    const { db, work } = this.#d;
    const exclusion = (await listExclusions(db, department.id)).find((e) => e.id === exclusionId);
    if (!exclusion) throw new SettingsError(404, "No such exclusion");
    if (exclusion.policy === "secure_connect") {
      await this.assertMayChangeSecureConnect(viewer, department.id);
    }
    const targets = targetsOf(
      await listDevices(db, [department.id]),
      await listGroups(db, [department.id]),
    );
    const { name } = await describe(db, targets, exclusion);
    await work.run(async ({ db: trx, audit }) => {
      if (!await removeExclusion(trx, department.id, exclusion.id)) return;
      await audit({
        action: "policy.exclusion_removed",
        actor: auditActor(viewer),
        departmentId: department.id,
        deviceId: exclusion.targetKind === "device" ? exclusion.targetId : null,
        detail: { policy: exclusion.policy, kind: exclusion.targetKind, target: name },
      });
    });
    return exclusion.policy;
  }

  /**
   * Loads the policies, lets `decide` derive the new ones (it may throw core's refusals) and,
   * when a field changed, saves them and audits `{ field: "from → to" }`, all in one
   * transaction.
   */
  async #update(
    viewer: CurrentUser,
    departmentId: string,
    action: "policy.changed" | "secure_connect.policy_changed",
    decide: (current: DepartmentPolicies) => {
      next: DepartmentPolicies;
      changes: Record<string, string>;
    },
  ): Promise<void> {
    const department = await this.department(viewer, departmentId);
    await this.#d.work.run(async ({ db: trx, now, audit }) => {
      const { next, changes } = decide(await loadPolicies(trx, department.id));
      if (Object.keys(changes).length === 0) return;
      await savePolicies(trx, department.id, next, viewer.email, now);
      await audit({
        action,
        actor: auditActor(viewer),
        departmentId: department.id,
        detail: changes,
      });
    });
  }
}

function auditActor(user: CurrentUser) {
  return { kind: "user" as const, id: user.id, label: user.email };
}

function secureConnectActor(user: CurrentUser) {
  return { role: user.role, mfaEnrolled: user.mfaEnabled };
}

// Core owns the rule of who may change Secure Connect; an empty change asks it without changing
// anything.
function mayChangeSecureConnect(policy: SecureConnectPolicy, user: CurrentUser): boolean {
  try {
    changeSecureConnect(policy, {}, secureConnectActor(user));
    return true;
  } catch (err) {
    if (isCoreError(err) && err.code === "forbidden") return false;
    throw err;
  }
}

/** Each changed field as `{ field: "from → to" }`; empty when nothing changed. */
function changedFields<T extends object>(
  before: T,
  after: T,
  fields: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const from = (before as Record<string, unknown>)[field];
    const to = (after as Record<string, unknown>)[field];
    if (JSON.stringify(from) !== JSON.stringify(to)) out[field] = `${String(from)} → ${String(to)}`;
  }
  return out;
}

interface Targets {
  devices: Map<string, Device>;
  groups: Map<string, DeviceGroupRow>;
}

function targetsOf(devices: Device[], groups: DeviceGroupRow[]): Targets {
  return {
    devices: new Map(devices.map((d) => [d.id, d])),
    groups: new Map(groups.map((g) => [g.id, g])),
  };
}

// An exclusion outlives a device moved to another department or deleted, so a target missing
// from this department is looked up on its own, and one that is gone says so.
async function describe(
  db: Db,
  targets: Targets,
  e: Pick<Exclusion, "targetKind" | "targetId">,
): Promise<{ name: string; os: string; ip: string }> {
  if (e.targetKind === "group") {
    const group = targets.groups.get(e.targetId) ?? await findGroup(db, e.targetId);
    return { name: group?.name ?? `Deleted group ${e.targetId}`, os: "-", ip: "-" };
  }
  const device = targets.devices.get(e.targetId) ?? await findDevice(db, e.targetId);
  if (!device) return { name: `Deleted device ${e.targetId}`, os: "-", ip: "-" };
  const ips = device.ip_addresses;
  return { name: device.name, os: device.os ?? "-", ip: ips.length > 0 ? ips.join(", ") : "-" };
}
