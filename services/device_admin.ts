/**
 * Devices as admins manage them: disabling one (its authorizations end and its connection is
 * cut) or enabling it again, moving it to a group of its department, deleting it, and renaming
 * or deleting groups. Each change is saved and audited in one transaction; the live pages hear
 * of it after the commit.
 */
import { CLOSE } from "../protocol/messages.ts";
import type { Clock } from "../lib/clock.ts";
import { changeMark, KeptUntilChange } from "../store/change_mark.ts";
import type { Db } from "../store/db.ts";
import { type DeviceQuery, searchDeviceList, searchDevices } from "../store/device_search.ts";
import {
  deleteDeviceRow,
  deleteGroup,
  type Device,
  type DeviceListRow,
  findDevice,
  findGroup,
  renameGroup,
  updateDevice,
} from "../store/devices.ts";
import { findSupportCodeByDevice } from "../store/support_codes.ts";
import type { CurrentUser } from "./accounts.ts";
import { loadNames, type Names } from "./device_facts.ts";
import { canSee, canSeeDevice, visibleDepartments } from "./devices.ts";
import type { AgentLink, LiveEvents } from "./ports.ts";
import { type AccessRevocations, queueRevocation } from "./revocations.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/**
 * The departments each technician and admin sees, by user: kept until the database changes
 * (a department given or taken, disabled or deleted is a write), so the list checks them on
 * every view without a query while nothing changed. Shared: read them, never change them.
 */
const keptDepartments = new KeptUntilChange<string[] | "all">(1000);

/** A refusal with the status to answer and a sentence to show. */
export class DeviceAdminError extends Error {
  override name = "DeviceAdminError";
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/** What the agent of a deleted device is told as its connection closes. */
export const DEVICE_DELETED = "This device was deleted by an admin";

/** What device administration needs. */
export interface DeviceAdminDeps {
  db: Db;
  /** Where each change is saved with its audit record, in one transaction. */
  work: UnitOfWork;
  clock: Clock;
  agents: AgentLink;
  events: LiveEvents;
  revocations: AccessRevocations;
}

/** Device administration bound to what the viewer may see. */
export class DeviceAdmin {
  readonly #d: DeviceAdminDeps;

  constructor(deps: DeviceAdminDeps) {
    this.#d = deps;
  }

  /** A device the viewer may see; 404 otherwise (its existence is not revealed). */
  async visible(viewer: CurrentUser, id: string): Promise<Device> {
    const device = await findDevice(this.#d.db, id);
    if (!device || !await canSeeDevice(this.#d.db, viewer, device)) {
      throw new DeviceAdminError(404, "There is no such device, or it is not in your departments");
    }
    return device;
  }

  /** A device the viewer may see, or null. */
  async find(viewer: CurrentUser, id: string): Promise<Device | null> {
    const device = await findDevice(this.#d.db, id);
    return device && await canSeeDevice(this.#d.db, viewer, device) ? device : null;
  }

  /**
   * One page of the agents' devices in the viewer's departments, with the departments searched
   * (support apps' computers belong to their support sessions, not to the fleet).
   */
  async search(
    viewer: CurrentUser,
    filters: Omit<DeviceQuery, "departmentIds">,
  ): Promise<{ rows: Device[]; total: number; departments: string[] | "all" }> {
    const departments = await visibleDepartments(this.#d.db, viewer);
    return {
      ...await searchDevices(this.#d.db, { ...filters, departmentIds: departments }),
      departments,
    };
  }

  /**
   * As {@link search}, with only what the device list shows of each device, and the names of
   * departments and groups to label them with. The viewer's departments, the page and the
   * names are each kept until the database changes (see store/change_mark.ts), under one
   * reading of its change mark.
   */
  async searchList(
    viewer: CurrentUser,
    filters: Omit<DeviceQuery, "departmentIds">,
  ): Promise<
    {
      rows: readonly DeviceListRow[];
      total: number;
      departments: string[] | "all";
      names: Names;
    }
  > {
    const db = this.#d.db;
    const mark = await changeMark(db);
    const departments = await keptDepartments.get(
      db,
      `${viewer.role} ${viewer.id}`,
      () => visibleDepartments(db, viewer),
      mark,
    );
    const [page, names] = await Promise.all([
      searchDeviceList(db, { ...filters, departmentIds: departments }, mark),
      loadNames(db, mark),
    ]);
    return { ...page, departments, names };
  }

  /** The support code a Service Desk customer's computer belongs to, if any. */
  async supportCodeOf(device: Device): Promise<string | null> {
    if (device.kind !== "support") return null;
    return (await findSupportCodeByDevice(this.#d.db, device.id))?.row.id ?? null;
  }

  /**
   * Disables a device (its authorizations end, `revoke` reaches the agent, then its connection
   * is closed) or enables it again.
   */
  async setDisabled(viewer: CurrentUser, device: Device, disabled: boolean): Promise<void> {
    const { work, agents, revocations } = this.#d;
    const actor = { kind: "user" as const, id: viewer.id, label: viewer.email };
    await work.run(async ({ db: trx, now, audit }) => {
      await updateDevice(trx, device.id, { disabled_at: disabled ? now : null }, now);
      if (disabled) {
        await queueRevocation(
          trx,
          { kind: "device", id: device.id },
          "device_disabled",
          actor,
          now,
        );
      }
      await audit({
        action: disabled ? "device.disabled" : "device.enabled",
        outcome: disabled ? "device_disabled" : null,
        actor,
        deviceId: device.id,
        departmentId: device.department_id,
      });
    });
    // Authorizations end (and `revoke` reaches the agent) before the connection is cut.
    await revocations.runNow();
    if (disabled) {
      agents.disconnect(
        device.id,
        CLOSE.deviceDisabled,
        "This device has been disabled by an admin",
      );
    }
    this.#publish(device);
  }

  /** Moves a device to a group of its own department, or out of every group (null). */
  async moveToGroup(viewer: CurrentUser, device: Device, groupId: string | null): Promise<void> {
    const { db } = this.#d;
    if (groupId) {
      const group = await findGroup(db, groupId);
      if (!group || group.department_id !== device.department_id) {
        throw new DeviceAdminError(400, "That group is not in the device's department");
      }
    }
    await this.#d.work.run(async ({ db: trx, now, audit }) => {
      await updateDevice(trx, device.id, { group_id: groupId }, now);
      await audit({
        action: "device.group_changed",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        deviceId: device.id,
        departmentId: device.department_id,
        detail: { from: device.group_id, to: groupId },
      });
    });
    this.#publish(device);
  }

  /**
   * Deletes an enrolled device the viewer may see: its support sessions end with it (their
   * channels close as its connection is cut), and its agent's credential names nothing any
   * more. Of many deletes at once, one deletes and audits; the others find nothing (404).
   */
  async delete(viewer: CurrentUser, deviceId: string): Promise<{ name: string }> {
    const { db, clock, agents } = this.#d;
    const departments = await visibleDepartments(db, viewer);
    const deleted = await this.#d.work.run(async (tx) => {
      const device = await findDevice(tx.db, deviceId);
      // A Service Desk customer's computer goes with its support session, not from here.
      if (!device || device.kind !== "agent" || !canSee(departments, device.department_id)) {
        return null;
      }
      const sessions = await tx.db.selectFrom("support_sessions").select(["id", "status"])
        .where("device_id", "=", device.id).where("status", "!=", "closed").execute();
      if (!await deleteDeviceRow(tx.db, device.id)) return null;
      await tx.audit({
        at: clock.now(),
        action: "device.deleted",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        deviceId: device.id,
        departmentId: device.department_id,
        detail: {
          name: device.name,
          sessionsEnded: sessions.map((s) => ({ id: s.id, status: s.status })),
        },
      });
      return device;
    });
    if (!deleted) {
      throw new DeviceAdminError(404, "There is no such device, or it is not in your departments");
    }
    // Cutting the connection closes every channel it carried; a fatal code, so the agent stops.
    agents.disconnect(deleted.id, CLOSE.badCredential, DEVICE_DELETED);
    this.#publish(deleted);
    return { name: deleted.name };
  }

  /** Renames a group of a department the viewer can see. */
  async renameGroup(viewer: CurrentUser, groupId: string, name: string): Promise<void> {
    const { db, clock } = this.#d;
    const departments = await visibleDepartments(db, viewer);
    await this.#d.work.run(async (tx) => {
      const group = await findGroup(tx.db, groupId);
      if (!group || !canSee(departments, group.department_id)) {
        throw new DeviceAdminError(404, "No such group");
      }
      if (group.name === name) return;
      if (!await renameGroup(tx.db, group.id, name)) {
        throw new DeviceAdminError(
          400,
          `A group named "${name}" already exists in this department`,
        );
      }
      await tx.audit({
        at: clock.now(),
        action: "device_group.renamed",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        departmentId: group.department_id,
        detail: { group: group.id, from: group.name, to: name },
      });
    });
  }

  /** Deletes a group; its devices stay, in no group. Returns the group's department. */
  async deleteGroup(
    viewer: CurrentUser,
    groupId: string,
  ): Promise<{ departmentId: string; moved: number }> {
    const { db, clock } = this.#d;
    const departments = await visibleDepartments(db, viewer);
    return await this.#d.work.run(async (tx) => {
      const group = await findGroup(tx.db, groupId);
      if (!group || !canSee(departments, group.department_id)) {
        throw new DeviceAdminError(404, "No such group");
      }
      const moved = await deleteGroup(tx.db, group.id);
      if (moved === null) throw new DeviceAdminError(404, "No such group");
      await tx.audit({
        at: clock.now(),
        action: "device_group.deleted",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        departmentId: group.department_id,
        detail: { group: group.id, name: group.name, devicesMoved: moved },
      });
      return { departmentId: group.department_id, moved };
    });
  }

  /** Sets where the device's consent receipts are mailed (null: nobody). */
  async setContact(viewer: CurrentUser, device: Device, email: string | null): Promise<void> {
    const contact = email?.trim().toLowerCase() || null;
    await this.#d.work.run(async ({ db: trx, now, audit }) => {
      await updateDevice(trx, device.id, { contact_email: contact }, now);
      await audit({
        action: "device.contact_changed",
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        deviceId: device.id,
        departmentId: device.department_id,
        detail: { from: device.contact_email, to: contact },
      });
    });
    this.#publish(device);
  }

  #publish(device: Device): void {
    this.#d.events.publish({
      kind: "device",
      deviceId: device.id,
      departmentId: device.department_id,
    });
  }
}
