import assert from "node:assert/strict";
import { transferSection } from "./transfer.ts";

Deno.test("the transfer section says what the download's CPU allows on the machine's cores", () => {
  const section = transferSection({
    mib: 256,
    rounds: 3,
    download: { agent: [300, 400, 350], plain: [800, 700, 900] },
    upload: { agent: [10, 10, 10], plain: [8, 8, 8] },
    cpu: {
      agent: { agent: [1.8, 1.9, 2], server: [1.8, 1.9, 2], client: [0.9, 1, 1] },
      plain: { server: [1, 1, 1], client: [1.2, 1.2, 1.2] },
    },
  }, 2);
  assert.match(section, /\| download through the agent \| 350 MiB\/s \| 300–400 \| .* \| 44 % \|/);
  // Together 4.8 ms per MiB: two busy cores move at most 2000 / 4.8 = 417 MiB/s, 52 % of 800.
  assert.match(
    section,
    /\| download through the agent \| agent 1\.90, server 1\.90, client 1\.00 ms \| 4\.80 ms \| 417 MiB\/s \| 350 MiB\/s \| 84 % \|/,
  );
  assert.match(section, /\| plain HTTP download \| server 1\.00, client 1\.20 ms \| 2\.20 ms \|/);
  assert.match(section, /could move at most 417\s+MiB\/s, 52 % of the plain download's median/);
});
