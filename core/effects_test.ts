import { deepEqual, equal } from "node:assert/strict";
import { audit, AUDIT_ACTIONS, auditEvents, type Effect, SYSTEM } from "./effects.ts";

Deno.test("audit actions are unique and named aggregate.event", () => {
  equal(new Set(AUDIT_ACTIONS).size, AUDIT_ACTIONS.length);
  for (const action of AUDIT_ACTIONS) equal(/^[a-z_]+\.[a-z_]+$/.test(action), true, action);
});

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
