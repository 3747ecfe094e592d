/**
 * Values read from the database and kept until the database changes. On SQLite the change
 * mark is this connection's `total_changes()` with the database's `data_version`, which moves
 * when any other process (the console) commits: any write anywhere, by anyone, makes the next
 * read load again. The mark is read before the value, so a write landing in between only costs
 * another load. Inside a transaction nothing is kept (its writes may yet roll back).
 * PostgreSQL has no such mark for other nodes' writes: there every read loads.
 */
import { CompiledQuery } from "kysely";
import { type Db, engineOf } from "./db.ts";

/** The database's change mark, or null where there is none to trust (PostgreSQL, a transaction). */
export async function changeMark(db: Db): Promise<string | null> {
  if (engineOf(db) !== "sqlite" || db.isTransaction) return null;
  // Read on every page that keeps something: plain SQL, nothing for kysely to build.
  const { rows } = await db.executeQuery<{ v: number; t: number }>(CompiledQuery.raw(MARK_SQL));
  return `${rows[0]!.v}:${rows[0]!.t}`;
}

const MARK_SQL = "select data_version as v, total_changes() as t from pragma_data_version";

/**
 * Up to `size` values by key, each kept with the change mark it was loaded under and given
 * again while the mark stays the same; per database handle.
 */
export class KeptUntilChange<T> {
  #byDb = new WeakMap<Db, Map<string, { mark: string; value: T }>>();
  constructor(readonly size: number) {}

  /**
   * The value of `key`: kept, or loaded now (and kept) when the database changed since.
   * `mark`, when given, is one {@link changeMark} of `db` read before this call, so that the
   * values a request needs together cost one read of the mark.
   */
  async get(db: Db, key: string, load: () => Promise<T>, mark?: string | null): Promise<T> {
    if (mark === undefined) mark = await changeMark(db);
    if (mark === null) return await load();
    let kept = this.#byDb.get(db);
    if (!kept) this.#byDb.set(db, kept = new Map());
    const hit = kept.get(key);
    if (hit?.mark === mark) return hit.value;
    const value = await load();
    if (kept.size >= this.size) kept.clear();
    kept.set(key, { mark, value });
    return value;
  }
}
