/** Devices, device groups and enrollment tokens. */
import {
  type DeviceInfo,
  LocalEmailAuthorization,
  type LoggedInUser,
  TransferFolders,
} from "../protocol/messages.ts";
import { type Selectable, sql } from "kysely";
import type { Db } from "./db.ts";
import { compiled, compiledWrite } from "./compiled.ts";
import type { DeviceGroupsTable, DevicesTable, EnrollmentTokensTable } from "./schema.ts";

/** A devices row as SQLite holds it (JSON columns as text, flags as 0/1). */
type DeviceColumns = Selectable<DevicesTable>;

/**
 * A device as the rest of the server sees it: the JSON columns parsed, the 0/1 columns as
 * booleans. `locked` and `logged_off` stay null when the agent could not tell; what that
 * means is for the rules to say. A column that cannot be read (it only ever holds what the
 * hub validated) reads as nothing reported.
 */
export interface Device extends
  Omit<
    DeviceColumns,
    | "ip_addresses"
    | "users"
    | "locked"
    | "logged_off"
    | "capabilities"
    | "local_email_authorization"
    | "transfer_folders"
    | "connected"
  > {
  ip_addresses: string[];
  users: LoggedInUser[];
  locked: boolean | null;
  logged_off: boolean | null;
  capabilities: string[];
  /** The device owner's own email-authorization setting, if the agent reports one. */
  local_email_authorization: LocalEmailAuthorization | null;
  /** The folders the agent offers to file transfer, if it reported them. */
  transfer_folders: TransferFolders | null;
  /** True while an agent holds a live connection (kept by the hub; reset at start-up). */
  connected: boolean;
}
/** An enrollment token row. */
export type EnrollmentTokenRow = Selectable<EnrollmentTokensTable>;
/** A device group row. */
export type DeviceGroupRow = DeviceGroupsTable;

function json(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function list<T>(text: string, item: (value: unknown) => value is T): T[] {
  const value = json(text);
  return Array.isArray(value) ? value.filter(item) : [];
}

function flag(value: number | null): boolean | null {
  return value === null ? null : value === 1;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isUser = (v: unknown): v is LoggedInUser =>
  typeof v === "object" && v !== null && typeof (v as { name?: unknown }).name === "string";

/** The one way a devices row becomes a {@link Device}. */
export function decodeDevice(row: DeviceColumns): Device {
  // Most rows hold neither; a failed parse builds an error, which costs more than the rest.
  const email = row.local_email_authorization === null
    ? null
    : LocalEmailAuthorization.safeParse(json(row.local_email_authorization));
  const folders = row.transfer_folders === null
    ? null
    : TransferFolders.safeParse(json(row.transfer_folders));
  return {
    ...row,
    ip_addresses: list(row.ip_addresses, isString),
    users: list(row.users, isUser),
    locked: flag(row.locked),
    logged_off: flag(row.logged_off),
    capabilities: list(row.capabilities, isString),
    local_email_authorization: email?.success ? email.data : null,
    transfer_folders: folders?.success ? folders.data : null,
    connected: row.connected === 1,
  };
}

/** The columns of a device the device list shows. */
export const DEVICE_LIST_COLUMNS = [
  "id",
  "name",
  "disabled_at",
  "os",
  "device_type",
  "ip_addresses",
  "users",
  "last_activity_at",
  "department_id",
  "group_id",
] as const;

/** A device as the device list shows it: {@link DEVICE_LIST_COLUMNS} of a {@link Device}. */
export type DeviceListRow = Pick<Device, (typeof DEVICE_LIST_COLUMNS)[number]>;

/** The list's columns of a devices row, decoded as {@link decodeDevice} decodes them. */
export function decodeDeviceListRow(
  row: Pick<DeviceColumns, (typeof DEVICE_LIST_COLUMNS)[number]>,
): DeviceListRow {
  return {
    id: row.id,
    name: row.name,
    disabled_at: row.disabled_at,
    os: row.os,
    device_type: row.device_type,
    ip_addresses: list(row.ip_addresses, isString),
    users: list(row.users, isUser),
    last_activity_at: row.last_activity_at,
    department_id: row.department_id,
    group_id: row.group_id,
  };
}

/** Finds a device by id. */
export async function findDevice(db: Db, id: string): Promise<Device | undefined> {
  const [row] = await deviceById(db, { id });
  return row && decodeDevice(row);
}

const deviceById = compiled(
  ["id"],
  (db, p: { id: string }) => db.selectFrom("devices").selectAll().where("id", "=", p.id),
);

/** Devices of the given departments (or all), by name. */
export async function listDevices(
  db: Db,
  departmentIds: string[] | "all",
): Promise<Device[]> {
  let q = db.selectFrom("devices").selectAll().where("kind", "=", "agent").orderBy("name")
    .orderBy("id");
  if (departmentIds !== "all") {
    if (departmentIds.length === 0) return [];
    q = q.where("department_id", "in", departmentIds);
  }
  return (await q.execute()).map(decodeDevice);
}

/** Id and name of the first `limit` devices of the given departments (or all), by name. */
export async function deviceNames(
  db: Db,
  departmentIds: string[] | "all",
  limit: number,
): Promise<{ id: string; name: string }[]> {
  if (departmentIds !== "all" && departmentIds.length === 0) return [];
  let q = db.selectFrom("devices").select(["id", "name"]).where("kind", "=", "agent")
    .orderBy("name").orderBy("id").limit(limit);
  if (departmentIds !== "all") q = q.where("department_id", "in", departmentIds);
  return await q.execute();
}

/** What a device row holds before its agent or support app reports anything. */
const NOTHING_REPORTED = {
  serial_number: null,
  os: null,
  os_family: null,
  model: null,
  device_type: null,
  locked: null,
  logged_off: null,
  local_email_authorization: null,
  agent_version: null,
  platform: null,
  remote_address: null,
  transfer_folders: null,
} as const;

/** Inserts a newly enrolled device. */
export async function insertDevice(
  db: Db,
  device: {
    id: string;
    secretHash: string;
    /** The Ed25519 public key the agent proved it holds; null only for devices made by hand. */
    publicKey?: string | null;
    departmentId: string;
    groupId: string | null;
    name: string;
    tokenId: string;
    now: number;
  },
): Promise<void> {
  await db.insertInto("devices").values({
    id: device.id,
    secret_hash: device.secretHash,
    public_key: device.publicKey ?? null,
    key_registered_at: device.publicKey ? device.now : null,
    department_id: device.departmentId,
    group_id: device.groupId,
    name: device.name,
    ...NOTHING_REPORTED,
    last_activity_at: device.now,
    disabled_at: null,
    enrollment_token_id: device.tokenId,
    enrolled_at: device.now,
    updated_at: device.now,
  }).execute();
}

/**
 * Inserts the device a support app joins as (R6). It has no credential: the secret hash is
 * not a hash of anything, so the device hello can never authenticate as it.
 */
export async function insertAttendedDevice(
  db: Db,
  device: { id: string; departmentId: string; name: string; now: number },
): Promise<void> {
  await db.insertInto("devices").values({
    id: device.id,
    secret_hash: "-",
    public_key: null,
    key_registered_at: null,
    department_id: device.departmentId,
    group_id: null,
    name: device.name,
    ...NOTHING_REPORTED,
    last_activity_at: null,
    kind: "support",
    disabled_at: null,
    enrollment_token_id: null,
    enrolled_at: device.now,
    updated_at: device.now,
  }).execute();
}

/** Stores what the agent reported about its machine. */
export async function saveDeviceInfo(
  db: Db,
  id: string,
  info: DeviceInfo,
  now: number,
): Promise<void> {
  await db.updateTable("devices").set({
    name: info.name,
    serial_number: info.serialNumber,
    os: info.os,
    os_family: info.osFamily,
    model: info.model,
    device_type: info.deviceType,
    ip_addresses: JSON.stringify(info.ipAddresses),
    users: JSON.stringify(info.users),
    locked: info.locked === null ? null : info.locked ? 1 : 0,
    logged_off: info.loggedOff === null ? null : info.loggedOff ? 1 : 0,
    capabilities: JSON.stringify(info.capabilities),
    local_email_authorization: info.emailAuthorization
      ? JSON.stringify(info.emailAuthorization)
      : null,
    transfer_folders: info.transferFolders ? JSON.stringify(info.transferFolders) : null,
    updated_at: now,
  }).where("id", "=", id).execute();
}

/**
 * Registers the public key of a device that has none yet (enrolled before device keys);
 * false when another connection registered one first.
 */
export async function registerDeviceKey(
  db: Db,
  id: string,
  publicKey: string,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable("devices")
    .set({ public_key: publicKey, key_registered_at: now, updated_at: now })
    .where("id", "=", id).where("public_key", "is", null).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Records the agent build and address of the current connection. */
export async function saveConnectionInfo(
  db: Db,
  id: string,
  conn: {
    agentVersion: string;
    platform: string;
    remoteAddress: string;
    now: number;
    /** The node that holds the connection. */
    nodeId: string;
  },
): Promise<void> {
  await writeConnectionInfo(db, { id, ...conn });
}

// Every handshake writes it, and every disconnection the next: built once (see compiled.ts).
const writeConnectionInfo = compiledWrite(
  ["id", "agentVersion", "platform", "remoteAddress", "now", "nodeId"],
  (db, p: {
    id: string;
    agentVersion: string;
    platform: string;
    remoteAddress: string;
    now: number;
    nodeId: string;
  }) =>
    db.updateTable("devices").set({
      agent_version: p.agentVersion,
      platform: p.platform,
      remote_address: p.remoteAddress,
      connected: 1,
      node_id: p.nodeId,
      last_activity_at: p.now,
      updated_at: p.now,
    }).where("id", "=", p.id),
);

/** Which of `ids` are disabled devices (in slices, within every engine's parameter limit). */
export async function disabledAmong(db: Db, ids: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await db.selectFrom("devices").select("id")
      .where("id", "in", ids.slice(i, i + 500)).where("disabled_at", "is not", null).execute();
    for (const row of rows) out.add(row.id);
  }
  return out;
}

/**
 * Marks a device as no longer connected, if `nodeId` still holds it; false when it does not (the
 * agent already reconnected to another node, or its node was held dead and it was let go).
 */
export async function markDisconnected(
  db: Db,
  id: string,
  lastActivityAt: number,
  nodeId: string,
): Promise<boolean> {
  return await writeDisconnected(db, { id, lastActivityAt, nodeId }) === 1;
}

const writeDisconnected = compiledWrite(
  ["id", "lastActivityAt", "nodeId"],
  (db, p: { id: string; lastActivityAt: number; nodeId: string }) =>
    db.updateTable("devices")
      .set({ connected: 0, node_id: null, last_activity_at: p.lastActivityAt })
      .where("id", "=", p.id).where("node_id", "=", p.nodeId),
);

/** A device held as connected by a node that is no longer registered (or by none). */
export type OrphanedDevice = Pick<Device, "id" | "department_id" | "last_activity_at" | "node_id">;

/**
 * Devices the database holds as connected by a node that is gone: one that stopped without
 * letting them go (a crash) or was held dead.
 */
export async function orphanedDevices(db: Db): Promise<OrphanedDevice[]> {
  return await db.selectFrom("devices")
    .select(["id", "department_id", "last_activity_at", "node_id"])
    .where("connected", "=", 1)
    .where((eb) =>
      eb.or([
        eb("node_id", "is", null),
        eb("node_id", "not in", eb.selectFrom("nodes").select("id")),
      ])
    ).execute();
}

/**
 * Lets go of orphaned devices (their last activity kept) that the same gone node (`nodeId`, or
 * none) still holds, a few hundred per statement: returns the ids let go of. Another node that
 * let go of one first, or its agent reconnected meanwhile, leaves it out.
 */
export async function releaseOrphans(
  db: Db,
  nodeId: string | null,
  ids: string[],
): Promise<Set<string>> {
  const released = new Set<string>();
  for (let i = 0; i < ids.length; i += RELEASE_BATCH) {
    const rows = await db.updateTable("devices").set({ connected: 0, node_id: null })
      .where("id", "in", ids.slice(i, i + RELEASE_BATCH)).where("connected", "=", 1)
      .where("node_id", nodeId === null ? "is" : "=", nodeId)
      .returning("id").execute();
    for (const row of rows) released.add(row.id);
  }
  return released;
}

/** Devices per statement when letting go of orphans: well under every engine's bound-value cap. */
const RELEASE_BATCH = 500;

/** The devices other nodes hold, as this node starts (it hears of changes from then on). */
export async function heldDevices(
  db: Db,
  exceptNodeId: string,
): Promise<{ id: string; node_id: string }[]> {
  const rows = await db.selectFrom("devices").select(["id", "node_id"])
    .where("connected", "=", 1).where("node_id", "is not", null)
    .where("node_id", "<>", exceptNodeId).execute();
  return rows.map((r) => ({ id: r.id, node_id: r.node_id! }));
}

/** Marks devices this node holds as connected by it again (after it was held dead). */
export async function reclaimDevices(db: Db, ids: string[], nodeId: string): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable("devices").set({ connected: 1, node_id: nodeId }).where("id", "in", ids)
    .where((eb) => eb.or([eb("node_id", "is", null), eb("node_id", "=", nodeId)])).execute();
}

/** How many check-in times one statement writes: 2 parameters each, far below any limit. */
export const ACTIVITY_CHUNK = 500;

/** The parameters of one chunk of check-in times: `id0`, `at0`, `id1`, `at1`, … */
const ACTIVITY_PARAMS = Array.from({ length: ACTIVITY_CHUNK }, (_, i) => [`id${i}`, `at${i}`])
  .flat();

/** One chunk of check-in times, built once: the flush runs every few seconds. */
const saveActivityChunk = compiled(
  ACTIVITY_PARAMS,
  (db, p: Record<string, unknown>) => {
    const rows = sql.join(
      Array.from(
        { length: ACTIVITY_CHUNK },
        (_, i) => sql`(${p[`id${i}`]}, cast(${p[`at${i}`]} as bigint))`,
      ),
    );
    // VALUES names its columns column1, column2 in SQLite and PostgreSQL alike.
    const statement = sql`update devices set last_activity_at = t.column2
      from (values ${rows}) as t
      where devices.id = t.column1
        and (devices.last_activity_at is null or devices.last_activity_at < t.column2)`;
    return { compile: () => statement.compile(db) };
  },
);

/**
 * Writes many last-activity times (heartbeats are batched), a few hundred per statement, never
 * moving a time back. Each statement stands alone, so other queries take turns between them
 * rather than waiting for the whole fleet's times; `inTurn` runs each one (by default at once).
 */
export async function saveLastActivity(
  db: Db,
  times: Map<string, number>,
  inTurn: (statement: () => Promise<void>) => Promise<void> = (statement) => statement(),
): Promise<void> {
  if (times.size === 0) return;
  const entries = [...times];
  for (let i = 0; i < entries.length; i += ACTIVITY_CHUNK) {
    const params: Record<string, unknown> = {};
    for (let j = 0; j < ACTIVITY_CHUNK; j++) {
      // A short last chunk repeats its last pair, so every chunk is the one prepared statement;
      // the repeat writes nothing (the time is no newer the second time).
      const [id, at] = entries[Math.min(i + j, entries.length - 1)]!;
      params[`id${j}`] = id;
      params[`at${j}`] = at;
    }
    await inTurn(async () => {
      await saveActivityChunk(db, params);
    });
  }
}

/** Changes a device's admin fields. */
export async function updateDevice(
  db: Db,
  id: string,
  changes: Partial<
    Pick<Device, "disabled_at" | "group_id" | "department_id" | "name" | "contact_email">
  >,
  now: number,
): Promise<void> {
  await db.updateTable("devices").set({ ...changes, updated_at: now }).where("id", "=", id)
    .execute();
}

/** Deletes a device (its agent is refused from then on). */
export async function deleteDevice(db: Db, id: string): Promise<void> {
  await db.deleteFrom("devices").where("id", "=", id).execute();
}

// Enrollment tokens

/** Inserts a token (only its hash). */
export async function insertEnrollmentToken(
  db: Db,
  token: Omit<EnrollmentTokenRow, "uses" | "revoked_at">,
): Promise<void> {
  await db.insertInto("enrollment_tokens").values({ ...token, uses: 0, revoked_at: null })
    .execute();
}

/** Finds a token by the hash of its secret. */
export async function findEnrollmentTokenByHash(
  db: Db,
  hash: string,
): Promise<EnrollmentTokenRow | undefined> {
  return await db.selectFrom("enrollment_tokens").selectAll().where("token_hash", "=", hash)
    .executeTakeFirst();
}

/** Finds a token by id. */
export async function findEnrollmentToken(
  db: Db,
  id: string,
): Promise<EnrollmentTokenRow | undefined> {
  return await db.selectFrom("enrollment_tokens").selectAll().where("id", "=", id)
    .executeTakeFirst();
}

/**
 * Counts one use of a token if it is still valid at `now`; true only for a use that fits,
 * so concurrent enrollments cannot exceed the token's uses.
 */
export async function claimEnrollmentUse(db: Db, id: string, now: number): Promise<boolean> {
  const r = await db.updateTable("enrollment_tokens")
    .set((eb) => ({ uses: eb("uses", "+", 1) }))
    .where("id", "=", id).where("revoked_at", "is", null).where("expires_at", ">", now)
    .whereRef("uses", "<", "max_uses")
    .executeTakeFirst();
  return r.numUpdatedRows === 1n;
}

/** Tokens of the given departments (or all), newest first. */
export async function listEnrollmentTokens(
  db: Db,
  departmentIds: string[] | "all",
): Promise<EnrollmentTokenRow[]> {
  let q = db.selectFrom("enrollment_tokens").selectAll().orderBy("created_at", "desc");
  if (departmentIds !== "all") {
    if (departmentIds.length === 0) return [];
    q = q.where("department_id", "in", departmentIds);
  }
  return await q.execute();
}

/** Revokes a token. */
export async function revokeEnrollmentToken(db: Db, id: string, now: number): Promise<void> {
  await db.updateTable("enrollment_tokens").set({ revoked_at: now }).where("id", "=", id)
    .where("revoked_at", "is", null).execute();
}

// Groups

/** Groups of the given departments (or all), by name. */
export async function listGroups(
  db: Db,
  departmentIds: string[] | "all",
): Promise<DeviceGroupRow[]> {
  if (departmentIds === "all") return await allGroups(db, {});
  if (departmentIds.length === 0) return [];
  return await db.selectFrom("device_groups").selectAll().where(
    "department_id",
    "in",
    departmentIds,
  )
    .orderBy("name").execute();
}

// Every device page names groups: built once (see compiled.ts).
const allGroups = compiled([], (db) => db.selectFrom("device_groups").selectAll().orderBy("name"));

/** Finds a group by id. */
export async function findGroup(db: Db, id: string): Promise<DeviceGroupRow | undefined> {
  return await db.selectFrom("device_groups").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Inserts a group. */
export async function insertGroup(db: Db, group: DeviceGroupRow): Promise<void> {
  await db.insertInto("device_groups").values(group).execute();
}

/** Renames a group; false when the name is taken in its department (any case). */
export async function renameGroup(db: Db, id: string, name: string): Promise<boolean> {
  const group = await findGroup(db, id);
  if (!group) return false;
  const clash = await db.selectFrom("device_groups").select("id")
    .where("department_id", "=", group.department_id).where("id", "!=", id)
    .where(sql<string>`lower(name)`, "=", sql<string>`lower(${name})`).executeTakeFirst();
  if (clash) return false;
  await db.updateTable("device_groups").set({ name }).where("id", "=", id).execute();
  return true;
}

/**
 * Deletes a group: its devices and enrollment tokens are in no group afterwards, and its
 * email-authorization setting and policy exclusions go with it. Returns the devices moved, or
 * null when the group was already gone.
 */
export async function deleteGroup(db: Db, id: string): Promise<number | null> {
  const moved = await db.updateTable("devices").set({ group_id: null })
    .where("group_id", "=", id).executeTakeFirst();
  await db.updateTable("enrollment_tokens").set({ group_id: null })
    .where("group_id", "=", id).execute();
  await db.deleteFrom("email_policies").where("target_kind", "=", "group")
    .where("target_id", "=", id).execute();
  await db.deleteFrom("policy_exclusions").where("target_kind", "=", "group")
    .where("target_id", "=", id).execute();
  const gone = await db.deleteFrom("device_groups").where("id", "=", id).executeTakeFirst();
  return Number(gone.numDeletedRows) === 1 ? Number(moved.numUpdatedRows) : null;
}

/**
 * Deletes a device row with what only makes sense while it exists (its sessions, queued
 * messages, update state, email-authorization setting and exclusions). The audit log keeps its
 * history. False when it was already gone.
 */
export async function deleteDeviceRow(db: Db, id: string): Promise<boolean> {
  await db.deleteFrom("agent_updates").where("device_id", "=", id).execute();
  await db.deleteFrom("email_policies").where("target_kind", "=", "device")
    .where("target_id", "=", id).execute();
  await db.deleteFrom("policy_exclusions").where("target_kind", "=", "device")
    .where("target_id", "=", id).execute();
  const gone = await db.deleteFrom("devices").where("id", "=", id).executeTakeFirst();
  return Number(gone.numDeletedRows) === 1;
}
