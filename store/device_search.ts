/** The device list query: visible departments, search, online filter, paging. */
import { sql } from "kysely";
import { compiled } from "./compiled.ts";
import { KeptUntilChange } from "./change_mark.ts";
import { type Db, engineOf } from "./db.ts";
import {
  decodeDevice,
  decodeDeviceListRow,
  type Device,
  DEVICE_LIST_COLUMNS,
  type DeviceListRow,
} from "./devices.ts";

/** What to list; `connected` filters on whether the agent holds a live connection. */
export interface DeviceQuery {
  departmentIds: string[] | "all";
  department?: string;
  q?: string;
  connected?: boolean;
  limit: number;
  offset: number;
}

/** One page of devices plus the total that match. */
export async function searchDevices(
  db: Db,
  query: DeviceQuery,
): Promise<{ rows: Device[]; total: number }> {
  const q = matching(db, query);
  if (!q) return { rows: [], total: 0 };
  const [rows, total] = await Promise.all([
    q.selectAll().orderBy("name").orderBy("id").limit(query.limit).offset(query.offset).execute(),
    totalOf(db, query, q),
  ]);
  return { rows: rows.map(decodeDevice), total };
}

/**
 * One page of the device list plus the total that match: as {@link searchDevices}, with only
 * the columns the list shows (a third of them; the others cost reading, copying and parsing
 * on every view). Like the totals, a page is kept until the database changes (see
 * change_mark.ts): the same view again, with nothing written anywhere since, reads no table.
 * The rows are shared between callers: read them, never change them. `mark`: the database's
 * change mark, when the caller read it already (see change_mark.ts).
 */
export async function searchDeviceList(
  db: Db,
  query: DeviceQuery,
  mark?: string | null,
): Promise<{ rows: readonly DeviceListRow[]; total: number }> {
  const { departmentIds, department, q, connected, limit, offset } = query;
  // Names every input of the statement: a page is kept per filter and place.
  const key = JSON.stringify([departmentIds, department, q, connected, limit, offset]);
  return await pages.get(db, key, () => readDeviceList(db, query), mark);
}

/** Pages kept before starting over: about 50 KB each. */
const pages = new KeptUntilChange<{ rows: readonly DeviceListRow[]; total: number }>(50);

async function readDeviceList(
  db: Db,
  query: DeviceQuery,
): Promise<{ rows: DeviceListRow[]; total: number }> {
  const q = matching(db, query);
  if (!q) return { rows: [], total: 0 };
  const { limit, offset, connected } = query;
  // The whole fleet, online or not, is how the list opens for most viewers: built once.
  const unfiltered = query.departmentIds === "all" && !query.department && !query.q;
  const [rows, total] = await Promise.all([
    !unfiltered
      ? q.select(DEVICE_LIST_COLUMNS).orderBy("name").orderBy("id").limit(limit).offset(offset)
        .execute()
      : connected === undefined
      ? fleetPage(db, { limit, offset })
      : fleetPageConnected(db, { connected: connected ? 1 : 0, limit, offset }),
    totalOf(db, query, q),
  ]);
  return { rows: rows.map(decodeDeviceListRow), total };
}

const fleetPage = compiled(
  ["limit", "offset"],
  (db, p: { limit: number; offset: number }) =>
    db.selectFrom("devices").where("kind", "=", "agent").select(DEVICE_LIST_COLUMNS)
      .orderBy("name").orderBy("id").limit(p.limit).offset(p.offset),
);

const fleetPageConnected = compiled(
  ["connected", "limit", "offset"],
  (db, p: { connected: number; limit: number; offset: number }) =>
    db.selectFrom("devices").where("kind", "=", "agent").where("connected", "=", p.connected)
      .select(DEVICE_LIST_COLUMNS).orderBy("name").orderBy("id").limit(p.limit).offset(p.offset),
);

/** The devices `query` matches, or null when it can match none. */
function matching(db: Db, query: DeviceQuery) {
  if (query.departmentIds !== "all" && query.departmentIds.length === 0) return null;
  // Support apps' computers belong to their support sessions, not to the fleet.
  let q = db.selectFrom("devices").where("kind", "=", "agent");
  if (query.departmentIds !== "all") q = q.where("department_id", "in", query.departmentIds);
  if (query.department) q = q.where("department_id", "=", query.department);
  if (query.q) {
    const like = `%${query.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    // Search ignores case: SQLite's LIKE does for ASCII, PostgreSQL's needs ILIKE.
    const op = engineOf(db) === "postgres" ? "ilike" : "like";
    q = q.where((eb) =>
      eb.or([
        eb("name", op, sql<string>`${like} escape '\\'`),
        eb("ip_addresses", op, sql<string>`${like} escape '\\'`),
        eb("users", op, sql<string>`${like} escape '\\'`),
        eb("serial_number", op, sql<string>`${like} escape '\\'`),
      ])
    );
  }
  if (query.connected !== undefined) q = q.where("connected", "=", query.connected ? 1 : 0);
  return q;
}

function totalOf(db: Db, query: DeviceQuery, q: NonNullable<ReturnType<typeof matching>>) {
  // Names every input of matching()'s where clause: the total is kept per filter.
  const filter = [query.departmentIds, query.department, query.q, query.connected];
  return countOnce(db, JSON.stringify(filter), async () => {
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as("n"))
      .executeTakeFirstOrThrow();
    return n;
  });
}

/**
 * Counting every matching device costs more than the rest of a page (an index walk over the
 * whole fleet), and the total only changes when the database does: totals are kept until it
 * changes (see change_mark.ts), per filter.
 */
async function countOnce(db: Db, key: string, count: () => Promise<number>): Promise<number> {
  return await totals.get(db, key, count);
}

/** Filters whose totals are kept before starting over (searches typed by hand add up). */
const totals = new KeptUntilChange<number>(200);
