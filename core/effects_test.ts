import { deepEqual, equal } from "node:assert/strict";
import { audit, auditEvents, type Effect, SYSTEM } from "./effects.ts";

Deno.test("auditEvents picks the audit events out of effects, in order", () => {
  const first = { at: 1, action: "device.online" as const, actor: SYSTEM };
  const second = { at: 2, action: "device.offline" as const, actor: SYSTEM };
  const effects: Effect[] = [audit(first), { type: "wake_at", at: 5 }, audit(second)];
  deepEqual(auditEvents(effects), [first, second]);
  deepEqual(auditEvents([]), []);
});

Deno.test("the system actor cannot be changed by a caller", () => {
  equal(Object.isFrozen(SYSTEM), true);
});
