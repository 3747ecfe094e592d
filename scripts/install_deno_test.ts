import assert from "node:assert/strict";
import { join } from "node:path";
import { minimalPath, SCRIPT_TOOLS, sharedBuild } from "../tests/support/packages.ts";
import { RUNTIME } from "./package.ts";

const SCRIPT = new URL("./install_deno.sh", import.meta.url).pathname;
const CACHE = new URL("../.cache/runtime/", import.meta.url).pathname;

Deno.test("install_deno.sh pins the same runtime version and integrity as the packages", async () => {
  const script = await Deno.readTextFile(SCRIPT);
  assert.equal(script.match(/^version=(\S+)$/m)?.[1], RUNTIME.version);
  const pins = [...script.matchAll(/name=(\S+)\n\s+integrity=(\S+)/g)]
    .map(([, name, integrity]) => [`@deno/${name}`, integrity]);
  assert.deepEqual(pins, [
    [RUNTIME.packages["linux-x64"].npm, RUNTIME.packages["linux-x64"].integrity],
    [RUNTIME.packages["linux-arm64"].npm, RUNTIME.packages["linux-arm64"].integrity],
  ]);
});

Deno.test({
  name: "install_deno.sh installs the runtime a registry serves only when it matches the pin",
  ignore: Deno.build.os !== "linux" || Deno.build.arch !== "x86_64",
  async fn() {
    // The tarball a package build fetched from npm once; served here as a registry would.
    const tgzPath = join(CACHE, `deno-${RUNTIME.version}-linux-x64.tgz`);
    if (!(await Deno.stat(tgzPath).catch(() => null))) await sharedBuild();
    const good = await Deno.readFile(tgzPath);
    let body = good;
    const served: string[] = [];
    const registry = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
      const path = new URL(req.url).pathname;
      served.push(path);
      return path === `/@deno/linux-x64-glibc/-/linux-x64-glibc-${RUNTIME.version}.tgz`
        ? new Response(body)
        : new Response("not found", { status: 404 });
    });
    const work = await Deno.makeTempDir({ prefix: "assent-install-deno-" });
    const path = await minimalPath([...SCRIPT_TOOLS, "base64", "od", "sha512sum"]);
    const target = join(work, "bin", "deno");
    const run = async () => {
      const out = await new Deno.Command("/bin/sh", {
        args: [SCRIPT, target],
        clearEnv: true,
        env: {
          PATH: path,
          TMPDIR: work,
          NPM_CONFIG_REGISTRY: `http://127.0.0.1:${registry.addr.port}/`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    try {
      body = good.slice();
      body[body.length - 1000] = body[body.length - 1000]! ^ 0xff;
      const tampered = await run();
      assert.notEqual(tampered.code, 0);
      assert.match(tampered.stderr, /does not match the pinned integrity; nothing was installed/);
      await assert.rejects(Deno.stat(target), Deno.errors.NotFound);

      body = good;
      const installed = await run();
      assert.equal(installed.code, 0, installed.stderr);
      const version = await new Deno.Command(target, { args: ["--version"], stdout: "piped" })
        .output();
      assert.match(new TextDecoder().decode(version.stdout), new RegExp(`deno ${RUNTIME.version}`));
      assert.equal(served.length, 2, "the runtime came from the registry it was given");
      assert.deepEqual((await Array.fromAsync(Deno.readDir(work))).map((e) => e.name), ["bin"]);
    } finally {
      await registry.shutdown();
      await Deno.remove(path, { recursive: true });
      await Deno.remove(work, { recursive: true });
    }
  },
});
