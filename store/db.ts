/**
 * Opening, migrating and closing the database of an Assent instance: a SQLite file by default,
 * or PostgreSQL when given a `postgres://` URL. Everything above the store sees one `Db`.
 */
import { Kysely, PostgresAdapter } from "kysely";
import { type MigrationResultSet, Migrator } from "kysely/migration";
import { migrations } from "../migrations/mod.ts";
import type { Database } from "./schema.ts";
import { postgresDialect, postgresPool } from "./postgres_dialect.ts";
import { NodeSqliteDatabase, nodeSqliteDialect } from "./sqlite_dialect.ts";

/** The typed query builder every store function takes. */
export type Db = Kysely<Database>;

/** The engine under a database. */
export type Engine = "sqlite" | "postgres";

/** An open database: the query builder, its engine, the SQLite handle (pragmas) and shutdown. */
export interface OpenDatabase {
  db: Db;
  engine: Engine;
  /** The SQLite file's handle; null on PostgreSQL. */
  raw: NodeSqliteDatabase | null;
  close(): Promise<void>;
}

/** Whether `location` names a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** The engine a query builder talks to, for the few statements that differ between them. */
export function engineOf(db: Db): Engine {
  return db.getExecutor().adapter instanceof PostgresAdapter ? "postgres" : "sqlite";
}

/**
 * Opens the database at `location`: a `postgres://` URL, or a SQLite file path (created if
 * missing; `":memory:"` for tests).
 */
export function openDatabase(location: string): OpenDatabase {
  if (isPostgresUrl(location)) {
    const db = new Kysely<Database>({ dialect: postgresDialect(() => postgresPool(location)) });
    let ended = false;
    return {
      db,
      engine: "postgres",
      raw: null,
      async close() {
        if (ended) return;
        ended = true;
        await db.destroy();
      },
    };
  }
  const raw = new NodeSqliteDatabase(location);
  const db = new Kysely<Database>({ dialect: nodeSqliteDialect(raw) });
  let closed = false;
  return {
    db,
    engine: "sqlite",
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
