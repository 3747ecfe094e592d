import assert from "node:assert/strict";
import { parsePrometheus, sampleValue } from "../tests/support/prometheus.ts";
import { formatValue, Registry } from "./metrics.ts";

Deno.test("the registry writes the text format a strict parser accepts, escapes included", async () => {
  const r = new Registry();
  const requests = r.counter("demo_requests_total", 'Requests, by "status"\nand \\ path');
  requests.inc({ status: "200" });
  requests.inc({ status: "200" }, 2);
  requests.inc({ status: 'we"ird\\\nvalue' });
  r.collect("demo_temperature", "A gauge read when scraped", "gauge", () => [
    { value: -1.5 },
  ]);
  r.collect("demo_queue", "Several series", "gauge", async () => [
    { labels: { kind: "a" }, value: 0 },
    { labels: { kind: "b" }, value: await Promise.resolve(7) },
  ]);
  const h = r.histogram("demo_latency_seconds", "Latency", [0.1, 1, 10]);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(5);
  h.observe(60);
  const text = await r.render();
  assert.match(text, /^# HELP demo_requests_total Requests, by "status"\\nand \\\\ path$/m);
  assert.match(text, /^# TYPE demo_latency_seconds histogram$/m);
  assert.match(text, /^demo_latency_seconds_bucket\{le="0\.1"\} 2$/m);
  const parsed = parsePrometheus(text);
  assert.equal(parsed.get("demo_requests_total")?.type, "counter");
  assert.equal(sampleValue(parsed, "demo_requests_total", { status: "200" }), 3);
  assert.equal(sampleValue(parsed, "demo_requests_total", { status: 'we"ird\\\nvalue' }), 1);
  assert.equal(sampleValue(parsed, "demo_temperature"), -1.5);
  assert.equal(sampleValue(parsed, "demo_queue", { kind: "b" }), 7);
  assert.equal(sampleValue(parsed, "demo_latency_seconds_bucket", { le: "1" }), 2);
  assert.equal(sampleValue(parsed, "demo_latency_seconds_bucket", { le: "10" }), 3);
  assert.equal(sampleValue(parsed, "demo_latency_seconds_bucket", { le: "+Inf" }), 4);
  assert.equal(sampleValue(parsed, "demo_latency_seconds_count"), 4);
  assert.equal(sampleValue(parsed, "demo_latency_seconds_sum"), 65.15);
});

Deno.test("the registry refuses names, labels and counters the format does not allow", () => {
  const r = new Registry();
  assert.throws(() => r.counter("bad-name_total", "x"), /Bad metric name/);
  assert.throws(() => r.collect("demo_things", "x", "counter", () => []), /must end in _total/);
  r.counter("demo_once_total", "x");
  assert.throws(() => r.counter("demo_once_total", "x"), /registered twice/);
  const c = r.counter("demo_up_total", "x");
  assert.throws(() => c.inc({}, -1), /only goes up/);
  assert.throws(() => r.histogram("demo_h", "x", [1, 1]), /must increase/);
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(NaN), "NaN");
});

Deno.test("the test parser rejects what Prometheus would", () => {
  const bad = [
    "demo 1\n", // no TYPE
    '# TYPE demo gauge\ndemo{a="1"} one\n',
    '# TYPE demo gauge\ndemo{a="1} 1\n',
    "# TYPE demo counter\ndemo -1\n",
    "# TYPE demo gauge\ndemo 1\ndemo 2\n",
    "# TYPE demo gauge\ndemo 1",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
  ];
  for (const text of bad) assert.throws(() => parsePrometheus(text), Error, text);
});
