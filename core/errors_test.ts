import { equal, ok } from "node:assert/strict";
import { CoreError, isCoreError } from "./errors.ts";

Deno.test("CoreError carries a stable code and a sentence-case message", () => {
  const error = new CoreError("device_offline", "Unable to connect to the device");
  ok(error instanceof Error);
  equal(error.name, "CoreError");
  equal(error.code, "device_offline");
  equal(error.message, "Unable to connect to the device");
  equal(isCoreError(error), true);
  equal(isCoreError(new Error("boom")), false);
  equal(isCoreError("device_offline"), false);
});
