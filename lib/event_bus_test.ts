import assert from "node:assert/strict";
import { EventBus } from "./event_bus.ts";

Deno.test("publish() reaches every subscriber in order until it unsubscribes", () => {
  const bus = new EventBus<number>();
  const seen: string[] = [];
  const stopA = bus.subscribe((n) => seen.push(`a${n}`));
  bus.subscribe((n) => seen.push(`b${n}`));
  assert.equal(bus.size, 2);
  bus.publish(1);
  stopA();
  bus.publish(2);
  assert.deepEqual(seen, ["a1", "b1", "b2"]);
  assert.equal(bus.size, 1);
});

Deno.test("a subscriber that throws does not stop the others", () => {
  const bus = new EventBus<string>();
  const seen: string[] = [];
  bus.subscribe(() => {
    throw new Error("stream gone");
  });
  bus.subscribe((e) => seen.push(e));
  bus.publish("device");
  assert.deepEqual(seen, ["device"]);
});
