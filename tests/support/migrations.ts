/**
 * Databases as an older release left them, for migration tests: migrated up to a named
 * migration, with the rows every old support session hangs on. On the engine the suite runs on.
 */
import { Migrator } from "kysely/migration";
import { migrations } from "../../migrations/mod.ts";
import type { Db } from "../../store/db.ts";
import { type OpenTestDatabase, openTestDatabase } from "./database.ts";

/** An old database and the migrator to take it to the latest schema. */
export interface OldDatabase extends OpenTestDatabase {
  migrator: Migrator;
}

/**
 * A fresh database migrated up to `before`, holding department `d-1`, technician `u-1` (Ada)
 * and device `dev-1` in it, as the schema of that time stores them.
 */
export async function databaseBefore(before: string): Promise<OldDatabase> {
  const database = await openTestDatabase({ empty: true });
  try {
    const migrator = new Migrator({
      db: database.db,
      provider: { getMigrations: () => Promise.resolve(migrations) },
    });
    const { error } = await migrator.migrateTo(before);
    if (error) throw error;
    // The schema of that time: the typed tables may have gained columns since.
    const db = database.db as unknown as Db;
    await db.insertInto("departments").values({
      id: "d-1",
      name: "D",
      created_at: 1,
      updated_at: 1,
    } as never).execute();
    await db.insertInto("users").values({
      id: "u-1",
      email: "ada@example.com",
      name: "Ada",
      role: "technician",
      password_hash: "x",
      password_changed_at: 1,
      created_at: 1,
      updated_at: 1,
    } as never).execute();
    await db.insertInto("devices").values({
      id: "dev-1",
      secret_hash: "x",
      department_id: "d-1",
      name: "PC",
      enrolled_at: 1,
      updated_at: 1,
    } as never).execute();
    return Object.assign(database, { migrator });
  } catch (err) {
    await database[Symbol.asyncDispose]();
    throw err;
  }
}
