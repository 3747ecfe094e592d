/**
 * Admins tidying up: renaming and deleting device groups, and deleting devices. Each change and
 * its audit row are one transaction; a device's sessions end and its agent is cut off right
 * after, and its credential is refused from then on (the row it names is gone).
 */
import type { AgentHub } from "../hub/agent_hub.ts";
import type { EventBus } from "../hub/events.ts";
import type { Clock } from "../lib/clock.ts";
import { CLOSE } from "../protocol/messages.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import {
  deleteDeviceRow,
  deleteGroup as deleteGroupRows,
  findDevice,
  findGroup,
  renameGroup as renameGroupRow,
} from "../store/devices.ts";
import type { CurrentUser } from "./accounts.ts";
import { canSee, visibleDepartments } from "./devices.ts";

/** What the device and group changes need. */
export interface DeviceAdminDeps {
  db: Db;
  clock: Clock;
  hub: Pick<AgentHub, "disconnect">;
  events: EventBus;
}

/** A refusal with the sentence to show and its HTTP status. */
export class DeviceAdminError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

/** What the agent of a deleted device is told as its connection closes. */
export const DEVICE_DELETED = "This device was deleted by an admin";

function actorOf(user: CurrentUser) {
  return { kind: "user" as const, id: user.id, label: user.email };
}

/** Renames a group of a department the admin can see. */
export async function renameGroup(
  d: DeviceAdminDeps,
  user: CurrentUser,
  groupId: string,
  name: string,
): Promise<void> {
  const departments = await visibleDepartments(d.db, user);
  await d.db.transaction().execute(async (trx) => {
    const group = await findGroup(trx, groupId);
    if (!group || !canSee(departments, group.department_id)) {
      throw new DeviceAdminError(404, "No such group");
    }
    if (group.name === name) return;
    if (!await renameGroupRow(trx, group.id, name)) {
      throw new DeviceAdminError(400, `A group named "${name}" already exists in this department`);
    }
    await appendAudit(trx, {
      at: d.clock.now(),
      action: "device_group.renamed",
      actor: actorOf(user),
      departmentId: group.department_id,
      detail: { group: group.id, from: group.name, to: name },
    });
  });
}

/** Deletes a group; its devices stay, in no group. Returns the group's department. */
export async function deleteGroup(
  d: DeviceAdminDeps,
  user: CurrentUser,
  groupId: string,
): Promise<{ departmentId: string; moved: number }> {
  const departments = await visibleDepartments(d.db, user);
  return await d.db.transaction().execute(async (trx) => {
    const group = await findGroup(trx, groupId);
    if (!group || !canSee(departments, group.department_id)) {
      throw new DeviceAdminError(404, "No such group");
    }
    const moved = await deleteGroupRows(trx, group.id);
    if (moved === null) throw new DeviceAdminError(404, "No such group");
    await appendAudit(trx, {
      at: d.clock.now(),
      action: "device_group.deleted",
      actor: actorOf(user),
      departmentId: group.department_id,
      detail: { group: group.id, name: group.name, devicesMoved: moved },
    });
    return { departmentId: group.department_id, moved };
  });
}

/**
 * Deletes an enrolled device of a department the admin can see: its support sessions end with
 * it (their channels close as its connection is cut), and its agent's credential names nothing
 * any more. Of many deletes at once, one deletes and audits; the others find nothing.
 */
export async function deleteDevice(
  d: DeviceAdminDeps,
  user: CurrentUser,
  deviceId: string,
): Promise<{ name: string }> {
  const departments = await visibleDepartments(d.db, user);
  const deleted = await d.db.transaction().execute(async (trx) => {
    const device = await findDevice(trx, deviceId);
    // A Service Desk customer's computer goes with its support session, not from here.
    if (!device || device.kind !== "agent" || !canSee(departments, device.department_id)) {
      return null;
    }
    const sessions = await trx.selectFrom("support_sessions").select(["id", "status"])
      .where("device_id", "=", device.id).where("status", "!=", "closed").execute();
    if (!await deleteDeviceRow(trx, device.id)) return null;
    await appendAudit(trx, {
      at: d.clock.now(),
      action: "device.deleted",
      actor: actorOf(user),
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
  d.hub.disconnect(deleted.id, CLOSE.badCredential, DEVICE_DELETED);
  d.events.publish({ kind: "device", deviceId: deleted.id, departmentId: deleted.department_id });
  return { name: deleted.name };
}
