import assert from "node:assert/strict";
import { type DirectionSamples, relaySection } from "./relay.ts";

const direction = (relay: number[], cpu: number): DirectionSamples => ({
  relay,
  ws: [700, 700, 700],
  tcp: [900, 900, 900],
  cpu: {
    relay: { client: [cpu, cpu, cpu], server: [cpu, cpu, cpu], agent: [cpu, cpu, cpu] },
    ws: { client: [0.5, 0.5, 0.5], relay: [1, 1, 1] },
    tcp: { client: [0.3, 0.3, 0.3], relay: [0.5, 0.5, 0.5] },
  },
});

Deno.test("the relay section puts each direction's CPU next to what the cores allow", () => {
  const section = relaySection({
    mib: 1024,
    rounds: 3,
    toAgent: direction([630, 640, 650], 1),
    fromAgent: direction([500, 520, 540], 1.25),
    baselineRssMiB: 90,
    peakRssMiB: 130,
    endRssMiB: 120,
  }, 2);
  // Browser → agent: 3 ms per MiB together, so 2000 / 3 = 667 MiB/s at most, and 640 MiB/s
  // measured keeps 96 % of the two cores busy.
  assert.match(
    section,
    /\| browser → agent, real agent path \| client 1\.00, server 1\.00, agent 1\.00 ms \| 3\.00 ms \| 667 MiB\/s \| 640 MiB\/s \| 96 % \|/,
  );
  assert.match(section, /\| agent → browser, raw TCP relay \| client 0\.30, relay 0\.50 ms \|/);
  assert.match(
    section,
    /Agent → browser the real path's processes spent 3\.75 ms per MiB together: with both cores busy it could move at most 533 MiB\/s, 76 % of the minimal WebSocket relay's median and 59 % of raw TCP's\./,
  );
  assert.match(section, /growth < 64 MiB — ✅ met/);
});
