import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ArchiveError,
  crc32,
  digestFile,
  readTarGz,
  readZip,
  safeEntryPath,
  sha256File,
  tarGzBytes,
  writeEntries,
  zipBytes,
} from "./archive.ts";
import { sha256Hex } from "./sha256.ts";

const text = (s: string) => new TextEncoder().encode(s);
const ENTRIES = [
  { name: "README.txt", data: text("hello\n"), mode: 0o644 },
  { name: "bin/run", data: text("#!/bin/sh\necho ran\n"), mode: 0o755 },
  {
    name: "data/blob.bin",
    data: new Uint8Array(70_000).map((_, i) => (i * 31) & 255),
    mode: 0o644,
  },
];

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

Deno.test("a tar.gz written here round-trips and system tar unpacks it with modes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gz = tarGzBytes(ENTRIES, Date.UTC(2026, 0, 1));
    assert.deepEqual(
      readTarGz(gz).map((e) => [e.name, e.data.length, e.mode & 0o111 ? "x" : "-"]),
      [["README.txt", 6, "-"], ["bin/run", 19, "x"], ["data/blob.bin", 70_000, "-"]],
    );
    await Deno.writeFile(join(dir, "p.tar.gz"), gz);
    await Deno.mkdir(join(dir, "out"));
    await run("tar", ["-xzf", "../p.tar.gz"], join(dir, "out"));
    assert.equal(await run("./bin/run", [], join(dir, "out")), "ran\n");
    assert.deepEqual(await Deno.readFile(join(dir, "out/data/blob.bin")), ENTRIES[2]!.data);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a zip written here round-trips, checks CRCs, and system unzip reads it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const zip = zipBytes(ENTRIES, Date.UTC(2026, 0, 1));
    assert.deepEqual(readZip(zip).map((e) => e.name), ENTRIES.map((e) => e.name));
    assert.deepEqual(readZip(zip)[2]!.data, ENTRIES[2]!.data);
    await Deno.writeFile(join(dir, "p.zip"), zip);
    assert.match(await run("unzip", ["-t", "p.zip"], dir), /No errors detected/);
    const damaged = zip.slice();
    damaged[40] = damaged[40]! ^ 0xff; // inside README.txt's stored bytes
    assert.throws(() => readZip(damaged), ArchiveError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("archives with a path that climbs out, or a link, are refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "x"), "evil");
    await run("tar", ["-czf", "climb.tar.gz", "-P", "--transform=s,^x,../x,", "x"], dir);
    assert.throws(
      () => readTarGz(Deno.readFileSync(join(dir, "climb.tar.gz"))),
      /unsafe path: "\.\.\/x"/,
    );
    await Deno.symlink("/etc/passwd", join(dir, "lnk"));
    await run("tar", ["-czf", "link.tar.gz", "lnk"], dir);
    assert.throws(() => readTarGz(Deno.readFileSync(join(dir, "link.tar.gz"))), /link/);
    assert.throws(() => readTarGz(text("not gzip")), /not a valid gzip/);
    assert.throws(() => zipBytes([{ name: "../x", data: text(""), mode: 0o644 }], 0), /Unsafe/);
    for (const bad of ["/etc/passwd", "a/../../b", "C:/x", "a\\b", "", "./", "a//b"]) {
      assert.equal(safeEntryPath(bad), null, bad);
    }
    assert.equal(safeEntryPath("./bin/deno"), "bin/deno");
    await writeEntries(join(dir, "out"), ENTRIES);
    assert.equal((await Deno.stat(join(dir, "out/bin/run"))).mode! & 0o777, 0o755);
    await assert.rejects(writeEntries(join(dir, "out"), ENTRIES), Deno.errors.AlreadyExists);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checksums match the standard values", async () => {
  assert.equal(crc32(text("123456789")), 0xcbf43926);
  assert.equal(
    sha256Hex(text("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  const file = await Deno.makeTempFile();
  await Deno.writeTextFile(file, "abc");
  assert.equal(await sha256File(file), sha256Hex(text("abc")));
  assert.deepEqual(await digestFile(file), { sha256: sha256Hex(text("abc")), bytes: 3 });
  await Deno.remove(file);
});
