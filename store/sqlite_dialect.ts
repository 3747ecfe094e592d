/**
 * Kysely's SqliteDialect over Deno's built-in `node:sqlite`.
 *
 * Kysely's SQLite driver expects a better-sqlite3-shaped database; `node:sqlite`'s
 * `DatabaseSync` differs in two ways that this adapter bridges: statements have no
 * `reader` flag (a statement returns rows when it has result columns), and parameters
 * are spread rather than passed as an array (booleans are not bindable, so they become 0/1).
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { type DialectAdapter, SqliteAdapter, SqliteDialect, type SqliteStatement } from "kysely";

/** Statement cache size: the app issues a bounded set of distinct SQL strings. */
const CACHE_LIMIT = 500;

/** Options for opening a database file with the pragmas every Assent database uses. */
export interface OpenOptions {
  /** Milliseconds a writer waits for a lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

/** A `node:sqlite` database adapted to kysely's `SqliteDatabase` interface. */
export class NodeSqliteDatabase {
  readonly raw: DatabaseSync;
  #cache = new Map<string, AdaptedStatement>();

  constructor(path: string, options: OpenOptions = {}) {
    this.raw = new DatabaseSync(path);
    const busy = options.busyTimeoutMs ?? 5000;
    if (path !== ":memory:") this.raw.exec("PRAGMA journal_mode = WAL");
    this.raw.exec(`PRAGMA busy_timeout = ${Math.trunc(busy)}`);
    this.raw.exec("PRAGMA foreign_keys = ON");
    this.raw.exec("PRAGMA synchronous = NORMAL");
  }

  /** Prepares (or reuses) a statement; kysely calls this for every query. */
  prepare(sql: string): SqliteStatement {
    let stmt = this.#cache.get(sql);
    if (stmt) return stmt;
    stmt = new AdaptedStatement(this.raw.prepare(sql));
    if (this.#cache.size >= CACHE_LIMIT) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(sql, stmt);
    return stmt;
  }

  close(): void {
    this.#cache.clear();
    if (this.raw.isOpen) this.raw.close();
  }
}

/** Present in `node:sqlite` since Node 24; Deno's type definitions do not list it yet. */
interface ReturnsArrays {
  setReturnArrays(enabled: boolean): void;
}

class AdaptedStatement implements SqliteStatement {
  readonly reader: boolean;
  #stmt: StatementSync;
  #columns: string[];

  constructor(stmt: StatementSync) {
    this.#stmt = stmt;
    this.#columns = stmt.columns().map((c) => c.name);
    this.reader = this.#columns.length > 0;
    // node:sqlite's row objects are dictionaries without a prototype: every copy or spread of
    // one is a slow hash-table walk. Rows read as arrays and built here share one shape and
    // cost a third as much to read, and the same again less to copy.
    if (this.reader) (stmt as StatementSync & ReturnsArrays).setReturnArrays(true);
  }

  all(parameters: ReadonlyArray<unknown>): unknown[] {
    const rows = this.#stmt.all(...bind(parameters)) as unknown as unknown[][];
    const out = new Array<Record<string, unknown>>(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = this.#row(rows[i]!);
    return out;
  }

  #row(values: unknown[]): Record<string, unknown> {
    const columns = this.#columns;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) row[columns[i]!] = values[i];
    return row;
  }

  run(
    parameters: ReadonlyArray<unknown>,
  ): { changes: number | bigint; lastInsertRowid: number | bigint } {
    return this.#stmt.run(...bind(parameters));
  }

  *iterate(parameters: ReadonlyArray<unknown>): IterableIterator<unknown> {
    for (const values of this.#stmt.iterate(...bind(parameters))) {
      yield this.#row(values as unknown as unknown[]);
    }
  }
}

function bind(parameters: ReadonlyArray<unknown>): SQLInputValue[] {
  return parameters.map((value) => {
    if (typeof value === "boolean") return value ? 1 : 0;
    if (value === undefined) return null;
    if (value instanceof Date) return value.getTime();
    return value as SQLInputValue;
  });
}

/**
 * SQLite's schema changes are transactional, which kysely's adapter does not claim: saying so
 * lets the migrator apply every pending migration in one transaction (a fresh database is one
 * commit instead of one per statement, and a failed migration leaves nothing half-applied).
 */
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): DialectAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** Builds the kysely dialect for a database opened with {@link NodeSqliteDatabase}. */
export function nodeSqliteDialect(database: NodeSqliteDatabase): SqliteDialect {
  return new NodeSqliteDialect({ database });
}
