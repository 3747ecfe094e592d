/**
 * `deno task test`: the whole suite on SQLite, then, when ASSENT_TEST_DATABASE_URL names a
 * PostgreSQL server, every test that uses the database again on PostgreSQL.
 * `deno task test:pg` runs only the PostgreSQL pass. Other arguments go to `deno test` as they
 * are: flags (`--filter …`) apply to both passes, paths replace the pass's own list.
 */

/** Test folders and files that open the database (the rest are pure and run once). */
export const DATABASE_TESTS = [
  "store/",
  "services/",
  "routes/",
  "cli/",
  "migrations/",
  "main_test.ts",
  "tests/",
  // The cluster's messages and its one scheduler leader live in PostgreSQL itself.
  "lib/pg_node_bus_test.ts",
  "lib/pg_leader_test.ts",
];

/** Tests the PostgreSQL pass leaves to the SQLite pass, each with the reason it prints. */
export const SQLITE_PASS_ONLY: { path: string; why: string }[] = [
  {
    path: "tests/browser/",
    why: "the browser tests drive pages whose data the other tests already cover on " +
      "PostgreSQL, and a second browser pass would double the longest part of CI",
  },
  { path: "tests/architecture_test.ts", why: "reads source files, opens no database" },
  { path: "tests/server_package_test.ts", why: "builds and inspects a package, no database" },
  { path: "tests/agent_leases_test.ts", why: "agent-side leases, no database" },
  { path: "tests/route_handlers_test.ts", why: "reads route sources, opens no database" },
];

/** Every test file under `roots` (folders or files), less those under `skip`, sorted. */
export async function testFiles(roots: string[], skip: string[]): Promise<string[]> {
  const found: string[] = [];
  const visit = async (path: string) => {
    if (skip.some((s) => path === s || path.startsWith(s.endsWith("/") ? s : `${s}/`))) return;
    const info = await Deno.stat(path);
    if (info.isFile) {
      if (/_test\.tsx?$/.test(path)) found.push(path);
      return;
    }
    for await (const entry of Deno.readDir(path)) {
      await visit(`${path.replace(/\/$/, "")}/${entry.name}`);
    }
  };
  for (const root of roots) await visit(root);
  return found.sort();
}

async function run(args: string[], env: Record<string, string | undefined>): Promise<boolean> {
  const vars = { ...Deno.env.toObject() };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete vars[key];
    else vars[key] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--parallel", ...args],
    env: vars,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return (await child.status).success;
}

if (import.meta.main) {
  const postgresOnly = Deno.args.includes("--postgres");
  const rest = Deno.args.filter((a) => a !== "--postgres");
  const paths = rest.filter((a) => !a.startsWith("-"));
  const flags = rest.filter((a) => a.startsWith("-"));
  const url = Deno.env.get("ASSENT_TEST_DATABASE_URL");
  let ok = true;

  if (!postgresOnly) {
    console.log("test: the suite on SQLite");
    ok = await run([...flags, ...paths], { ASSENT_TEST_DATABASE_URL: undefined }) && ok;
  }
  if (!url) {
    if (postgresOnly) {
      console.error(
        "test:pg needs ASSENT_TEST_DATABASE_URL (start one with scripts/pg_test_server.sh)",
      );
      Deno.exit(2);
    }
    console.log("test: no ASSENT_TEST_DATABASE_URL, so no PostgreSQL pass");
  } else {
    console.log("test: the database tests on PostgreSQL");
    const ignored = paths.length > 0 ? [] : SQLITE_PASS_ONLY;
    for (const { path, why } of ignored) console.log(`test: SQLite pass only: ${path}: ${why}`);
    // The files are listed here rather than left to `--ignore`, which deno test does not apply
    // reliably once several folders are named.
    const files = paths.length > 0
      ? paths
      : await testFiles(DATABASE_TESTS, ignored.map((i) => i.path));
    ok = await run([...flags, ...files], { ASSENT_TEST_DATABASE_URL: url }) && ok;
  }
  Deno.exit(ok ? 0 : 1);
}
