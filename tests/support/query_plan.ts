/** What SQLite plans to do for the queries a store function runs: for index tests. */
import { Kysely } from "kysely";
import { type Db, migrate, openDatabase } from "../../store/db.ts";
import type { Database } from "../../store/schema.ts";
import { nodeSqliteDialect } from "../../store/sqlite_dialect.ts";

/** The plans SQLite picks for the queries `fn` runs on a migrated empty database, in order. */
export async function queryPlans(fn: (db: Db) => Promise<unknown>): Promise<string[]> {
  const { raw, close } = openDatabase(":memory:");
  if (!raw) throw new Error("query plans are read from SQLite's own planner");
  const queries: { sql: string; parameters: readonly unknown[] }[] = [];
  const db = new Kysely<Database>({
    dialect: nodeSqliteDialect(raw),
    log: (event) => void queries.push(event.query),
  });
  try {
    await migrate(db);
    queries.length = 0;
    await fn(db);
    return queries.map((q) =>
      raw.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(q.parameters)
        .map((row) => (row as { detail: string }).detail).join("; ")
    );
  } finally {
    await db.destroy();
    await close();
  }
}
