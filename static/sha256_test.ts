import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
// @ts-types="./sha256.d.ts"
import { Sha256 } from "./sha256.js";

Deno.test("the browser's incremental SHA-256 matches node:crypto for any split", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 3000 }),
      fc.integer({ min: 1, max: 200 }),
      (data, step) => {
        const h = new Sha256();
        for (let i = 0; i < data.length; i += step) h.update(data.subarray(i, i + step));
        return h.hex() === createHash("sha256").update(data).digest("hex");
      },
    ),
  );
  const big = new Uint8Array(randomBytes(3 * 1024 * 1024));
  assert.equal(new Sha256().update(big).hex(), createHash("sha256").update(big).digest("hex"));
  assert.equal(new Sha256().hex(), createHash("sha256").update("").digest("hex"));
});
