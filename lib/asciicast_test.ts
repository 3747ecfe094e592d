import { deepEqual, equal } from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { CastWriter } from "./asciicast.ts";

Deno.test("a cast file has its header, output, input and resizes, and the hash of its bytes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "t.cast");
    const w = CastWriter.create(path, { startedAt: 10_000, width: 80, height: 24, title: "PC" });
    w.output(new TextEncoder().encode("$ "), 10_000);
    // "é" split across two frames stays one character.
    const e = new TextEncoder().encode("é");
    w.input(new TextEncoder().encode("ls\r"), 11_250);
    w.output(e.subarray(0, 1), 11_500);
    w.output(e.subarray(1), 11_600);
    w.resize(120, 40, 12_000);
    const { bytes, sha256 } = w.close();
    const file = await Deno.readFile(path);
    equal(bytes, file.length);
    equal(sha256, createHash("sha256").update(file).digest("hex"));
    const lines = new TextDecoder().decode(file).trim().split("\n").map((l) => JSON.parse(l));
    deepEqual(lines[0], { version: 2, width: 80, height: 24, timestamp: 10, title: "PC" });
    deepEqual(lines.slice(1), [[0, "o", "$ "], [1.25, "i", "ls\r"], [1.6, "o", "é"], [
      2,
      "r",
      "120x40",
    ]]);
    equal((await Deno.stat(path)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
