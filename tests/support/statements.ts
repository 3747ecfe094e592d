/** What SQLite statements a piece of work runs, to show what a kept value saves. */
import { DatabaseSync } from "node:sqlite";

/** The SQL of every statement that returned rows on SQLite (node:sqlite) while `fn` ran. */
export async function statementsRun(fn: () => Promise<unknown>): Promise<string[]> {
  const probe = new DatabaseSync(":memory:");
  const proto = Object.getPrototypeOf(probe.prepare("select 1"));
  probe.close();
  const all = proto.all;
  const run: string[] = [];
  proto.all = function (this: { sourceSQL: string }, ...args: unknown[]) {
    run.push(this.sourceSQL);
    return all.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.all = all;
  }
  return run;
}
