/**
 * The database a test runs on: a SQLite file in the test's directory, or, when
 * ASSENT_TEST_DATABASE_URL names a PostgreSQL server, a fresh database of its own there.
 */
import pg from "pg";
import type { Engine } from "../../store/db.ts";

/** The PostgreSQL server the suite runs against, if any. */
export const TEST_DATABASE_URL = Deno.env.get("ASSENT_TEST_DATABASE_URL") || null;

/** The engine this test run uses. */
export const TEST_ENGINE: Engine = TEST_DATABASE_URL ? "postgres" : "sqlite";

/**
 * For tests of what only a SQLite file has (the file itself, its lock, its backups): skipped on
 * PostgreSQL, and the test's name says why.
 */
export function sqliteOnly(name: string, why: string): { name: string; ignore: boolean } {
  return TEST_DATABASE_URL
    ? { name: `${name} [SQLite only, skipped on PostgreSQL: ${why}]`, ignore: true }
    : { name, ignore: false };
}

/** A database for one test and how to remove it. */
export interface TestDatabase {
  /** What `openDatabase` takes: a file path or a `postgres://` URL. */
  location: string;
  /** Drops the PostgreSQL database (the SQLite file goes with its directory). */
  drop(): Promise<void>;
}

/** A fresh, empty database for a test whose files live in `dir`. */
export async function createTestDatabase(dir: string): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) return { location: `${dir}/assent.db`, drop: () => Promise.resolve() };
  const name = `assent_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await admin(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    location: url.toString(),
    drop: () => admin(`drop database if exists ${name} with (force)`),
  };
}

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}
