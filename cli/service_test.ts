import assert from "node:assert/strict";
import { join } from "node:path";
import {
  serverFlagsOf,
  startTaskServerCommand,
  startTaskServerFlags,
} from "../tests/support/start_task.ts";

const ROOT = new URL("../", import.meta.url).pathname;

async function service(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", join(ROOT, "main.ts"), "service", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** The value of every `Key=` line of a unit. */
function settings(unit: string, key: string): string[] {
  return unit.split("\n").filter((l) => l.startsWith(`${key}=`)).map((l) =>
    l.slice(key.length + 1)
  );
}

const hasSystemdAnalyze = await Deno.stat("/usr/bin/systemd-analyze").then(() => true, () => false);

Deno.test("assent service runs the server as its own user with the start task's permissions, writing only its data", async () => {
  const { code, stdout } = await service("--data-dir", "/var/lib/assent", "--user", "assent");
  assert.equal(code, 0);
  assert.deepEqual(settings(stdout, "User"), ["assent"]);
  assert.deepEqual(settings(stdout, "ReadWritePaths"), ["/var/lib/assent"]);
  const hardening: [string, string][] = [
    ["ProtectSystem", "strict"],
    ["NoNewPrivileges", "yes"],
    ["CapabilityBoundingSet", ""],
    ["Restart", "on-failure"],
    ["ProtectHome", "yes"],
    ["PrivateTmp", "yes"],
  ];
  for (const [key, value] of hardening) {
    assert.deepEqual(settings(stdout, key), [value], key);
  }
  assert.deepEqual(settings(stdout, "MemoryDenyWriteExecute"), [], "V8 needs executable memory");

  // The unit runs the server from the checkout with the permissions and V8 flags deno.json's
  // start task runs it with.
  const flags = await startTaskServerFlags();
  const [exec] = settings(stdout, "ExecStart");
  assert.ok(exec, "an ExecStart line");
  const words = exec.split(" ");
  assert.ok(
    exec.endsWith(` ${join(ROOT, "main.ts")} serve --data-dir /var/lib/assent`),
    exec,
  );
  assert.deepEqual(serverFlagsOf(words).sort(), [...flags].sort());
  const server = await startTaskServerCommand();
  for (const flag of ["--allow-run", "--allow-sys", "--allow-all", "-A", "--allow-ffi"]) {
    assert.ok(!words.some((w) => w.startsWith(flag)), `${flag} in ${exec}`);
    assert.ok(!server.some((w) => w.startsWith(flag)), `${flag} in the start task's server`);
  }
  assert.ok(flags.includes("--no-prompt"), "the server never waits at a permission prompt");
});

Deno.test("assent service refuses a relative data directory or an odd user name with a plain message", async () => {
  const relative = await service("--data-dir", "data");
  assert.equal(relative.code, 2);
  assert.match(relative.stderr, /--data-dir must be an absolute path/);
  assert.equal(relative.stdout, "");
  const user = await service("--user", "root; rm -rf /");
  assert.equal(user.code, 2);
  assert.match(user.stderr, /invalid user name/);
});

Deno.test({
  name: "systemd reads the unit without a warning, a data directory with a space and a % included",
  ignore: !hasSystemdAnalyze,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "assent-unit-" });
    try {
      const data = join(dir, "data 100%");
      await Deno.mkdir(data);
      const { code, stdout } = await service("--data-dir", data);
      assert.equal(code, 0);
      assert.deepEqual(settings(stdout, "ReadWritePaths"), [`"${data.replaceAll("%", "%%")}"`]);
      await Deno.writeTextFile(join(dir, "assent.service"), stdout);
      const verify = await new Deno.Command("systemd-analyze", {
        args: ["verify", join(dir, "assent.service")],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(verify.stderr) +
        new TextDecoder().decode(verify.stdout);
      assert.equal(verify.code, 0, said);
      assert.equal(said.trim(), "", "no warnings");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
