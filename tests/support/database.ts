/**
 * The database a test runs on: a SQLite file in the test's directory, or, when
 * ASSENT_TEST_DATABASE_URL names a PostgreSQL server, a fresh database of its own there.
 */
import pg from "pg";
import { migrations } from "../../migrations/mod.ts";
import { type Engine, migrate, type OpenDatabase, openDatabase } from "../../store/db.ts";

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

/**
 * A fresh database for a test whose files live in `dir`: on SQLite an empty file, on
 * PostgreSQL a copy of a migrated template (migrating every test's database anew would cost a
 * second each). `migrated` tells which, so the caller migrates only what needs it.
 */
export async function createTestDatabase(
  dir: string,
  options: { empty?: boolean } = {},
): Promise<TestDatabase & { migrated: boolean }> {
  if (!TEST_DATABASE_URL) {
    return { location: `${dir}/assent.db`, migrated: false, drop: () => Promise.resolve() };
  }
  const template = options.empty ? "template0" : await migratedTemplate();
  const name = `assent_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await admin((c) => c.query(`create database ${name} template ${template} strategy file_copy`));
  return {
    location: databaseUrl(name),
    migrated: !options.empty,
    drop: async () => {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** An open test database; disposing of it closes it and removes it. */
export interface OpenTestDatabase extends OpenDatabase, AsyncDisposable {
  /** Where it is, to open it again (after `close()`, which does not remove it). */
  location: string;
}

/**
 * A fresh test database, opened: migrated to the latest schema, or `empty` (for migration
 * tests). On the engine the suite runs on, like everything else.
 */
export async function openTestDatabase(
  options: { empty?: boolean } = {},
): Promise<OpenTestDatabase> {
  const dir = await Deno.makeTempDir({ prefix: "assent-db-" });
  const place = await createTestDatabase(dir, options);
  const opened = openDatabase(place.location);
  if (!place.migrated && !options.empty) await migrate(opened.db);
  let closed = false;
  return {
    ...opened,
    location: place.location,
    close: async () => {
      if (closed) return;
      closed = true;
      await opened.close();
    },
    async [Symbol.asyncDispose]() {
      if (!closed) {
        closed = true;
        await opened.close();
      }
      await place.drop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * A copy of the closed test database at `source`, named `name` within `dir`: a copied file on
 * SQLite, a database made from it as a template on PostgreSQL (nothing may be connected to it).
 */
export async function copyTestDatabase(
  source: string,
  dir: string,
  name: string,
): Promise<TestDatabase> {
  if (!TEST_DATABASE_URL) {
    const path = `${dir}/${name}.db`;
    await Deno.copyFile(source, path);
    return {
      location: path,
      drop: async () => {
        for (const file of [path, `${path}-wal`, `${path}-shm`]) {
          await Deno.remove(file).catch(() => {});
        }
      },
    };
  }
  const from = new URL(source).pathname.slice(1);
  const copy = `assent_test_${crypto.randomUUID().replaceAll("-", "")}`;
  await admin((c) => c.query(`create database ${copy} template ${from} strategy file_copy`));
  return {
    location: databaseUrl(copy),
    drop: async () => {
      await admin((c) => c.query(`drop database if exists ${copy} with (force)`));
    },
  };
}

function databaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

let template: Promise<string> | undefined;

/** The template database at the latest migration, made once by whichever test file is first. */
function migratedTemplate(): Promise<string> {
  return template ??= (async () => {
    const names = Object.keys(migrations).join(",");
    const digest = new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode(names)),
    );
    const name = `assent_template_${
      Array.from(digest.slice(0, 8), (b) => b.toString(16).padStart(2, "0")).join("")
    }`;
    await admin(async (c) => {
      // Test files start in parallel: one makes the template while the others wait.
      await c.query("select pg_advisory_lock(7353)");
      try {
        const found = await c.query("select datistemplate from pg_database where datname = $1", [
          name,
        ]);
        if (found.rows[0]?.datistemplate === true) return;
        await c.query(`drop database if exists ${name} with (force)`);
        await c.query(`create database ${name}`);
        const database = openDatabase(databaseUrl(name));
        try {
          await migrate(database.db);
        } finally {
          await database.close();
        }
        await c.query(`alter database ${name} is_template true`);
      } finally {
        await c.query("select pg_advisory_unlock(7353)");
      }
    });
    return name;
  })();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Runs `statements` (one or several, separated by `;`) on the database at `location` behind the
 * server's back, as anyone holding the database could.
 */
export async function rawExec(location: string, statements: string): Promise<void> {
  if (!location.startsWith("postgres")) {
    const { DatabaseSync } = await import("node:sqlite");
    const raw = new DatabaseSync(location);
    try {
      raw.exec(statements);
    } finally {
      raw.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: location });
  await client.connect();
  try {
    await client.query(statements);
  } finally {
    await client.end();
  }
}

/**
 * The database of a test server over `dataDir`: null for the SQLite file the server keeps
 * there, or a PostgreSQL URL, the same one each time the server starts again over `dataDir`.
 */
export async function serverDatabase(
  dataDir: string,
): Promise<{ location: string | null; drop(): Promise<void> }> {
  if (!TEST_DATABASE_URL) return { location: null, drop: () => Promise.resolve() };
  const marker = `${dataDir}/test-database.json`;
  let known: { location: string; name: string } | null = null;
  try {
    known = JSON.parse(await Deno.readTextFile(marker));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (!known) {
    const created = await createTestDatabase(dataDir);
    known = { location: created.location, name: new URL(created.location).pathname.slice(1) };
    await Deno.mkdir(dataDir, { recursive: true });
    await Deno.writeTextFile(marker, JSON.stringify(known));
  }
  const name = known.name;
  return {
    location: known.location,
    drop: async () => {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}

/** Where the database of a test server over `dataDir` is, once the server has started. */
export function serverDatabaseLocation(dataDir: string): string {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dataDir}/test-database.json`)).location;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return `${dataDir}/assent.db`;
    throw err;
  }
}
