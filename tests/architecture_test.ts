/**
 * The dependency rule, checked on the real module graph: every import from one folder to
 * another must be an edge of {@link RULES}. The graph is what `deno info --json` reads from
 * the entry points, so an import nobody runs cannot hide and a test file cannot excuse one.
 */
import assert from "node:assert/strict";

/** What `deno info --json` says of a module, as far as the rule needs it. */
export interface GraphModule {
  specifier: string;
  error?: string;
  dependencies?: {
    specifier: string;
    code?: { specifier?: string };
    type?: { specifier?: string };
  }[];
}

/** What `deno info --json` prints. */
export interface ModuleGraph {
  modules: GraphModule[];
}

/** What a folder may import besides itself. */
interface Rule {
  /** Folders (or single modules) it may import from. `*`: anything. */
  may: readonly string[];
  /** Folders or modules it may import types from, and nothing else. */
  typesFrom?: readonly string[];
  /** Imports nothing outside the project either: no npm:, node:, jsr: or URL. */
  pure?: boolean;
}

/** The modules where services declare the ports that hub/ and mailer/ implement. */
const PORTS = "services/ports.ts";

/**
 * The allowed folder edges. A folder may always import from itself; a folder that is not
 * here may import nothing, so a new folder needs its rule before its first import.
 */
export const RULES: Readonly<Record<string, Rule>> = {
  // The composition root wires everything.
  "main.ts": { may: ["*"] },
  routes: { may: ["services", "views", "presenters", "protocol", "core", "lib", "i18n"] },
  cli: { may: ["services", "core", "lib"] },
  // Use cases: load, let core decide, save and audit, then effects through their own ports.
  services: { may: ["core", "store", "lib", "protocol", "i18n"] },
  // hub/ and mailer/ implement services' ports; they know them by their types only.
  hub: { may: ["core", "protocol", "lib"], typesFrom: [PORTS] },
  mailer: { may: ["core", "lib", "i18n"], typesFrom: [PORTS] },
  // SQL only. It runs the migrations, and reads the device reports it keeps back through the
  // protocol's own schemas, so a stored report has one shape and one decoder.
  store: { may: ["core", "lib", "migrations", "protocol"] },
  // View models for views; routes fill them from what services return.
  presenters: { may: ["core", "lib", "protocol"], typesFrom: ["services"] },
  views: { may: ["core", "presenters", "i18n"] },
  // The specification: pure, with time, ids and tokens passed in.
  core: { may: [], pure: true },
  // What end users and approvers read, in their language; English comes from core's texts.
  i18n: { may: ["core"], pure: true },
  lib: { may: [] },
  protocol: { may: [] },
  // The device agent ships without the server.
  agent: { may: ["protocol", "core", "lib", "i18n"] },
  // Frozen in time: they import no app code.
  migrations: { may: [] },
};

/** Where the agent's programs start, besides `assent agent` in main.ts. */
const AGENT_ENTRIES = ["agent/main.ts", "agent/run.ts", "agent/support.ts"];

/** The folder a project path belongs to: its first segment, or the file at the root. */
export function folderOf(path: string): string {
  const slash = path.indexOf("/");
  return slash === -1 ? path : path.slice(0, slash);
}

function withinAny(path: string, targets: readonly string[]): boolean {
  return targets.some((t) => t === "*" || path === t || folderOf(path) === t);
}

/**
 * Every import of the graph that breaks {@link RULES}, as sorted "from → to" lines, paths
 * relative to `root` (a `file://` URL ending in "/"). Imports of modules outside `root` are
 * checked only for pure folders.
 */
export function violations(graph: ModuleGraph, root: string): string[] {
  const found = new Set<string>();
  const local = (specifier: string) =>
    specifier.startsWith(root) ? specifier.slice(root.length) : null;
  for (const module of graph.modules) {
    const from = local(module.specifier);
    if (from === null) continue;
    if (module.error) throw new Error(`${from} cannot be read: ${module.error}`);
    const folder = folderOf(from);
    const rule = RULES[folder];
    for (const dependency of module.dependencies ?? []) {
      const target = dependency.code?.specifier ?? dependency.type?.specifier;
      if (!target) continue;
      const typeOnly = dependency.code?.specifier === undefined;
      const to = local(target);
      if (to === null) {
        if (rule?.pure) found.add(`${from} → ${target}`);
        continue;
      }
      if (folderOf(to) === folder) continue;
      if (rule && withinAny(to, rule.may)) continue;
      if (rule && typeOnly && withinAny(to, rule.typesFrom ?? [])) continue;
      found.add(`${from} → ${to}`);
    }
  }
  return [...found].sort();
}

/** The project's module graph from its entry points, read by `deno info --json`. */
async function projectGraph(root: URL): Promise<ModuleGraph> {
  const entries = ["main.ts"];
  for (const entry of AGENT_ENTRIES) {
    if (await Deno.stat(new URL(entry, root)).then(() => true, () => false)) entries.push(entry);
  }
  const graphs = await Promise.all(entries.map(async (entry) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder();
    if (!out.success) throw new Error(`deno info ${entry} failed: ${text.decode(out.stderr)}`);
    return JSON.parse(text.decode(out.stdout)) as ModuleGraph;
  }));
  const modules = new Map<string, GraphModule>();
  for (const graph of graphs) for (const m of graph.modules) modules.set(m.specifier, m);
  return { modules: [...modules.values()] };
}

// A hand-made graph in `deno info`'s shape: the rule function is tested on its own, and shown
// to catch each reverse import issue 12 names.
const R = "file:///repo/";
const imports = (specifier: string, ...deps: [string, "code" | "type"][]): GraphModule => ({
  specifier: R + specifier,
  dependencies: deps.map(([to, kind]) => {
    const target = to.includes(":") ? to : R + to;
    return { specifier: to, [kind]: { specifier: target } };
  }),
});

const FIXTURE: ModuleGraph = {
  modules: [
    // Allowed: the root wires everything, layers call down, ports are known by their types.
    imports(
      "main.ts",
      ["routes/app.tsx", "code"],
      ["hub/agent_hub.ts", "code"],
      ["store/db.ts", "code"],
    ),
    imports(
      "routes/admin.tsx",
      ["services/users.ts", "code"],
      ["views/admin.tsx", "code"],
      ["npm:hono@4", "code"],
    ),
    imports("services/sessions.ts", ["core/mod.ts", "code"], ["store/audit.ts", "code"]),
    imports("hub/channels.ts", ["services/ports.ts", "type"], ["protocol/messages.ts", "code"]),
    imports("store/db.ts", ["migrations/mod.ts", "code"], ["core/mod.ts", "type"]),
    imports("agent/run.ts", ["protocol/messages.ts", "code"], ["lib/clock.ts", "code"]),
    imports("migrations/mod.ts", ["migrations/0001_initial.ts", "code"], ["npm:kysely", "code"]),
    // The reverse imports issue 12 lists.
    imports("hub/agent_hub.ts", ["services/devices.ts", "code"], ["services/ports.ts", "code"]),
    imports("mailer/outbox.ts", ["services/scheduler.ts", "code"]),
    imports("routes/settings.tsx", ["store/policies.ts", "code"]),
    imports("cli/admin.ts", ["store/users.ts", "code"]),
    imports("core/actions.ts", ["lib/clock.ts", "type"], ["node:crypto", "code"]),
    imports("agent/channels.ts", ["hub/channels.ts", "code"], ["services/sessions.ts", "type"]),
    imports("views/device.tsx", ["services/devices.ts", "type"]),
    imports("services/mod.ts", ["views/layout.tsx", "type"], ["mailer/outbox.ts", "code"]),
    imports("migrations/0002_users.ts", ["store/db.ts", "type"]),
    // A folder nobody gave a rule.
    imports("plugins/x.ts", ["lib/log.ts", "code"]),
  ],
};

Deno.test("the dependency rule allows the table's edges and flags every reverse import", () => {
  assert.deepEqual(violations(FIXTURE, R), [
    "agent/channels.ts → hub/channels.ts",
    "agent/channels.ts → services/sessions.ts",
    "cli/admin.ts → store/users.ts",
    "core/actions.ts → lib/clock.ts",
    "core/actions.ts → node:crypto",
    "hub/agent_hub.ts → services/devices.ts",
    "hub/agent_hub.ts → services/ports.ts",
    "mailer/outbox.ts → services/scheduler.ts",
    "migrations/0002_users.ts → store/db.ts",
    "plugins/x.ts → lib/log.ts",
    "routes/settings.tsx → store/policies.ts",
    "services/mod.ts → mailer/outbox.ts",
    "services/mod.ts → views/layout.tsx",
    "views/device.tsx → services/devices.ts",
  ]);
});

Deno.test("the dependency rule stops at a module the graph could not read", () => {
  const broken = { modules: [{ specifier: `${R}hub/x.ts`, error: "Module not found" }] };
  assert.throws(() => violations(broken, R), /hub\/x\.ts cannot be read: Module not found/);
});

Deno.test("folderOf() is a path's first segment, or the root file itself", () => {
  assert.equal(folderOf("hub/agent_hub.ts"), "hub");
  assert.equal(folderOf("routes/api/sessions.ts"), "routes");
  assert.equal(folderOf("main.ts"), "main.ts");
});

Deno.test("the server and the agent import across folders only along the rule's edges", async () => {
  const root = new URL("../", import.meta.url);
  const found = violations(await projectGraph(root), root.href);
  assert.deepEqual(found, [], `imports that break the dependency rule:\n${found.join("\n")}`);
});
