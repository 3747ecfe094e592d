import assert from "node:assert/strict";
import process from "node:process";
import {
  comparisonTable,
  CpuLedger,
  cpuTable,
  interleaved,
  meetsTarget,
  requestAsViewers,
  summarize,
} from "./lib.ts";
import { until } from "../tests/support/wait.ts";

Deno.test("summarize() gives the median of the middle two for an even count, and the range", () => {
  assert.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4, samples: [4, 1, 3, 2] });
  assert.deepEqual(summarize([5, 1, 9]).median, 5);
});

Deno.test("interleaved() alternates the contenders' order round by round", async () => {
  const order: string[] = [];
  const samples = await interleaved(3, {
    baseline: () => Promise.resolve(order.push("baseline")),
    subject: () => Promise.resolve(order.push("subject")),
  }, () => {});
  assert.deepEqual(order, ["baseline", "subject", "subject", "baseline", "baseline", "subject"]);
  assert.deepEqual(samples, { baseline: [1, 4, 5], subject: [2, 3, 6] });
});

Deno.test("a comparison meets a throughput target on the ratio of the medians", () => {
  const c = {
    measure: "relay",
    unit: "MiB/s",
    subject: [90, 10, 95],
    baseline: { name: "direct", samples: [100, 100, 500] },
    target: { ratio: 0.9 },
  };
  assert.deepEqual(meetsTarget(c), true);
  assert.deepEqual(meetsTarget({ ...c, subject: [89, 89, 200] }), false);
  assert.deepEqual(meetsTarget({ ...c, target: { ratio: 0.5, lowerIsBetter: true } }), false);
  assert.match(
    comparisonTable([c]),
    /\| relay \| 90\.0 MiB\/s \| 10\.0–95\.0 \| direct \| 100 MiB\/s \| 100–500 \| 90 % \| ≥ 90 % — ✅ met \|/,
  );
});

Deno.test("the CPU ledger books each process's CPU per MiB over the run it wraps", async () => {
  const ledger = new CpuLedger();
  // Busy until this process has spent 200 ms more CPU, by the kernel's own account of it.
  const spin = () => {
    const start = process.cpuUsage();
    for (;;) {
      const spent = process.cpuUsage(start);
      if (spent.user + spent.system >= 200_000) return Promise.resolve("moved");
    }
  };
  assert.deepEqual(await ledger.measure("path", { bench: Deno.pid }, 2, spin), "moved");
  await ledger.measure("path", { bench: Deno.pid }, 4, spin);
  const [first, second] = ledger.paths.get("path")!.bench!;
  // 200 ms of CPU (in 10 ms ticks) over 2 MiB, then over 4 MiB.
  assert.ok(first! >= 80 && first! <= 130, `${first} ms per MiB`);
  assert.ok(second! >= 40 && second! <= 65, `${second} ms per MiB`);
});

Deno.test("the CPU table sums the processes run by run and says what the cores allow", () => {
  const table = cpuTable([{
    path: "download",
    processes: { agent: [2, 1.8, 1.9], server: [2, 1.8, 2.1] },
    throughput: [300, 400, 350],
  }], 2);
  // Together: the median of 4, 3.6 and 4 ms; 2 cores × 1000 ms / 4 ms = 500 MiB/s at most;
  // 350 MiB/s × 4 ms = 1.4 s of CPU a second, 70 % of two cores.
  assert.match(
    table,
    /\| download \| agent 1\.90, server 2\.00 ms \| 4\.00 ms \| 500 MiB\/s \| 350 MiB\/s \| 70 % \|/,
  );
});

Deno.test("viewers time each request from when it was due, so a stall counts against those it held back", async () => {
  // The second request is held until 200 ms after it arrived; the others are answered at once.
  let seen = 0;
  let heldAt = 0;
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    if (++seen === 2) {
      heldAt = performance.now();
      await release.promise;
    }
    return new Response("list");
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const viewers = requestAsViewers(url, "/devices", "", { viewers: 1, everyMs: 20 });
  await until("the second request held", () => heldAt > 0);
  await until("200 ms of holding", () => performance.now() - heldAt >= 200, { intervalMs: 10 });
  release.resolve();
  await until("the requests held back sent", () => seen >= 5);
  const requests = await viewers.stop();
  await server.shutdown();
  const times = requests.map((r) => r.ms);
  // The held one waited its 200 ms; the next was due 20 ms after it and answered at once when
  // sent, yet had waited about 180 ms since it was due; sent on time again, they are quick.
  assert.ok(times[1]! >= 200, `held: ${times[1]} ms`);
  assert.ok(times[2]! >= 150, `the one held back: ${times[2]} ms`);
  assert.ok(times.length >= 5, `${times.length} requests`);
  // Due one after the other, every 20 ms from the first.
  assert.deepEqual(requests.slice(0, 3).map((r) => Math.round(r.dueMs)), [0, 20, 40]);
});

Deno.test("viewers stop at once, not at their next turn", async () => {
  let seen = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
    seen++;
    return new Response("list");
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  const viewers = requestAsViewers(url, "/devices", "", { viewers: 1, everyMs: 60_000 });
  await until("the first request answered", () => seen === 1);
  const asked = performance.now();
  const requests = await viewers.stop();
  await server.shutdown();
  assert.ok(performance.now() - asked < 1_000, `stopped after ${performance.now() - asked} ms`);
  assert.equal(requests.length, 1);
});
