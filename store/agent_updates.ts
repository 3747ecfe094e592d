/** What an agent update offer reads: the device, its department's hold, its last update. */
import { compiled } from "./compiled.ts";
import type { Db } from "./db.ts";

/** A device as an update offer sees it, with whether its department holds updates. */
export interface UpdateStanding {
  id: string;
  kind: "agent" | "support";
  agent_version: string | null;
  platform: string | null;
  department_id: string;
  held: boolean;
  /** The last update offered to it and how far its agent got, if any. */
  last: { version: string; sha256: string | null; state: string } | null;
}

/** The device's standing for an update offer, or undefined when there is no such device. */
export async function updateStandingOf(
  db: Db,
  deviceId: string,
): Promise<UpdateStanding | undefined> {
  const [row] = await standingOf(db, { deviceId });
  if (!row) return undefined;
  return {
    id: row.id,
    kind: row.kind,
    agent_version: row.agent_version,
    platform: row.platform,
    department_id: row.department_id,
    held: row.held_by !== null,
    last: row.version !== null && row.state !== null
      ? { version: row.version, sha256: row.sha256, state: row.state }
      : null,
  };
}

// Every device that comes online is looked at: one statement, built once (see compiled.ts).
const standingOf = compiled(
  ["deviceId"],
  (db, p: { deviceId: string }) =>
    db.selectFrom("devices")
      .leftJoin("agent_update_holds", "agent_update_holds.department_id", "devices.department_id")
      .leftJoin("agent_updates", "agent_updates.device_id", "devices.id")
      .select([
        "devices.id",
        "devices.kind",
        "devices.agent_version",
        "devices.platform",
        "devices.department_id",
        "agent_update_holds.held_by",
        "agent_updates.version",
        "agent_updates.sha256",
        "agent_updates.state",
      ])
      .where("devices.id", "=", p.deviceId),
);
