import assert from "node:assert/strict";
import { join } from "node:path";
import { readTarGz, TarError, writeTarGz } from "./tar.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "assent-tar-" });
}

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("an archive written here round-trips byte for byte, large files streamed", async () => {
  const dir = await tempDir();
  try {
    const big = crypto.getRandomValues(new Uint8Array(65536)).map((b, i) => b ^ i);
    const bigger = new Uint8Array(300_001).map((_, i) => i % 251);
    await Deno.writeFile(join(dir, "big.bin"), bigger);
    const archive = join(dir, "a.tar.gz");
    await writeTarGz(archive, [
      { name: "manifest.json", data: new TextEncoder().encode('{"a":1}') },
      { name: "random.bin", data: big },
      { name: "big.bin", path: join(dir, "big.bin") },
      { name: "empty", data: new Uint8Array(0) },
    ], Date.UTC(2026, 0, 1));
    const out = join(dir, "out");
    await Deno.mkdir(out);
    assert.deepEqual(await readTarGz(archive, out), [
      "manifest.json",
      "random.bin",
      "big.bin",
      "empty",
    ]);
    assert.deepEqual(await Deno.readFile(join(out, "random.bin")), big);
    assert.deepEqual(await Deno.readFile(join(out, "big.bin")), bigger);
    assert.equal((await Deno.readFile(join(out, "empty"))).byteLength, 0);
    assert.equal(await Deno.readTextFile(join(out, "manifest.json")), '{"a":1}');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the system tar lists and unpacks what is written here, and the reverse", async () => {
  const dir = await tempDir();
  try {
    const archive = join(dir, "a.tar.gz");
    await writeTarGz(archive, [
      { name: "one.txt", data: new TextEncoder().encode("first\n") },
      { name: "two.txt", data: new TextEncoder().encode("second\n") },
    ], Date.UTC(2026, 0, 1));
    assert.equal(await run("tar", ["-tzf", archive], dir), "one.txt\ntwo.txt\n");
    assert.equal(await run("tar", ["-xzOf", archive, "two.txt"], dir), "second\n");

    const src = join(dir, "src");
    await Deno.mkdir(src);
    await Deno.writeTextFile(join(src, "from-tar.txt"), "made by tar\n");
    await run("tar", ["--format=ustar", "-czf", join(dir, "b.tar.gz"), "from-tar.txt"], src);
    const out = join(dir, "out");
    await Deno.mkdir(out);
    assert.deepEqual(await readTarGz(join(dir, "b.tar.gz"), out), ["from-tar.txt"]);
    assert.equal(await Deno.readTextFile(join(out, "from-tar.txt")), "made by tar\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unpacking refuses paths, links, folders, damaged and truncated archives", async () => {
  const dir = await tempDir();
  try {
    const src = join(dir, "src");
    await Deno.mkdir(join(src, "sub"), { recursive: true });
    await Deno.writeTextFile(join(src, "sub", "x.txt"), "x");
    await Deno.symlink("/etc/passwd", join(src, "link"));
    const cases: [string, string[], RegExp][] = [
      ["path.tar.gz", ["sub/x.txt"], /unexpected path/],
      ["dotdot.tar.gz", ["--transform=s,^,../,", "sub/x.txt"], /unexpected path/],
      ["link.tar.gz", ["link"], /not a regular file/],
      ["folder.tar.gz", ["--no-recursion", "sub"], /not a regular file/],
    ];
    for (const [name, args, expected] of cases) {
      await run("tar", ["--format=ustar", "-czf", join(dir, name), ...args], src);
      const out = await Deno.makeTempDir({ dir });
      await assert.rejects(
        () => readTarGz(join(dir, name), out),
        (e) => e instanceof TarError && expected.test(e.message),
        name,
      );
      assert.deepEqual([...Deno.readDirSync(out)], [], `${name} left nothing behind`);
    }
    await writeTarGz(join(dir, "good.tar.gz"), [
      { name: "a.bin", data: new Uint8Array(5000).fill(7) },
    ], 0);
    const good = await Deno.readFile(join(dir, "good.tar.gz"));
    await Deno.writeFile(join(dir, "cut.tar.gz"), good.subarray(0, good.byteLength - 30));
    const flipped = good.slice();
    flipped[20] = flipped[20]! ^ 0xff;
    await Deno.writeFile(join(dir, "flipped.tar.gz"), flipped);
    await Deno.writeTextFile(join(dir, "plain.tar.gz"), "not an archive at all");
    for (const name of ["cut.tar.gz", "flipped.tar.gz", "plain.tar.gz"]) {
      const out = await Deno.makeTempDir({ dir });
      await assert.rejects(() => readTarGz(join(dir, name), out), TarError, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
