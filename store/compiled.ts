/**
 * Hot statements built once per engine. Building a statement with kysely walks and freezes a
 * tree of nodes on every call; for the few statements every support session's round trip runs
 * many times, the statement is built once with stand-ins for its named parameters, and each
 * later call runs the same SQL with the real values (SQLite's statement cache then reuses its
 * prepared statement too; PostgreSQL gets the same text every time).
 */
import { type Compilable, type CompiledQuery, createQueryId, type QueryResult } from "kysely";
import { type Db, type Engine, engineOf } from "./db.ts";

// Stands in for a parameter while the statement is built; kysely passes it through as a value.
class Param {
  constructor(readonly name: string) {}
}

/** A statement built once per engine, run with `params`; its rows. */
export type CompiledStatement<P, R> = (db: Db, params: P) => Promise<R[]>;

/**
 * Compiles `build` once per engine, the first time it runs there. Every parameter must reach
 * the statement as a plain value (compared with or written to a column), never shape it: a
 * statement whose SQL depends on its parameters (an `in` list, an optional filter) does not
 * belong here unless it is built once per shape (as store/sessions.ts does per number of
 * statuses), and one that drops a parameter is refused when it is first built.
 */
export function compiled<P extends Record<string, unknown>, R>(
  names: readonly (keyof P & string)[],
  build: (db: Db, params: P) => Compilable<R>,
): CompiledStatement<P, R> {
  const run = builtOnce(names, build);
  return async (db, params) => (await run(db, params)).rows;
}

/**
 * As {@link compiled}, for a statement that writes: how many rows it changed (an update that
 * found no row, a conditional one whose condition no longer held: 0).
 */
export function compiledWrite<P extends Record<string, unknown>>(
  names: readonly (keyof P & string)[],
  build: (db: Db, params: P) => Compilable<unknown>,
): (db: Db, params: P) => Promise<number> {
  const run = builtOnce(names, build);
  return async (db, params) => Number((await run(db, params)).numAffectedRows ?? 0n);
}

function builtOnce<P extends Record<string, unknown>, R>(
  names: readonly (keyof P & string)[],
  build: (db: Db, params: P) => Compilable<R>,
): (db: Db, params: P) => Promise<QueryResult<R>> {
  const byEngine = new Map<Engine, CompiledQuery<R>>();
  return async (db, params) => {
    const engine = engineOf(db);
    let query = byEngine.get(engine);
    if (!query) {
      const standIns = Object.fromEntries(names.map((name) => [name, new Param(name)])) as P;
      query = build(db, standIns).compile();
      const used = new Set(query.parameters.flatMap((p) => p instanceof Param ? [p.name] : []));
      const unused = names.filter((name) => !used.has(name));
      if (unused.length > 0) {
        throw new Error(`A compiled statement does not use ${unused.join(", ")}: ${query.sql}`);
      }
      byEngine.set(engine, query);
    }
    const parameters = query.parameters.map((p) => p instanceof Param ? params[p.name] : p);
    return await db.executeQuery<R>({ ...query, parameters, queryId: createQueryId() });
  };
}
