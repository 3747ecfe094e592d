/** Opening, migrating and closing the one SQLite database of an Assent instance. */
import { Kysely } from "kysely";
import { type MigrationResultSet, Migrator } from "kysely/migration";
import { migrations } from "../migrations/mod.ts";
import type { Database } from "./schema.ts";
import { NodeSqliteDatabase, nodeSqliteDialect } from "./sqlite_dialect.ts";

/** The typed query builder every store function takes. */
export type Db = Kysely<Database>;

/** An open database: the query builder plus the raw handle for pragmas and shutdown. */
export interface OpenDatabase {
  db: Db;
  raw: NodeSqliteDatabase;
  close(): Promise<void>;
}

/** Opens (creating if missing) the database at `path`; `":memory:"` for tests. */
export function openDatabase(path: string): OpenDatabase {
  const raw = new NodeSqliteDatabase(path);
  const db = new Kysely<Database>({ dialect: nodeSqliteDialect(raw) });
  let closed = false;
  return {
    db,
    raw,
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
      raw.close();
    },
  };
}

/** Runs every migration not yet recorded, in name order; a no-op when up to date. */
export async function migrate(db: Db): Promise<MigrationResultSet> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(migrations) },
  });
  const result = await migrator.migrateToLatest();
  if (result.error) {
    throw new Error(`Database migration failed: ${describe(result.error)}`, {
      cause: result.error,
    });
  }
  return result;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
