import assert from "node:assert/strict";
import { parseCidr } from "../lib/cidr.ts";
import { testApp } from "../tests/support/app.ts";
import { parsePrometheus } from "../tests/support/prometheus.ts";

const TOKEN = "mt_" + "q8Zr".repeat(10);

function scrape(
  t: { app: { request: (p: string, i: RequestInit, e: unknown) => Response | Promise<Response> } },
  ip: string,
  authorization?: string,
) {
  return t.app.request("/metrics", {
    headers: authorization ? { Authorization: authorization } : {},
  }, { remoteAddr: { hostname: ip } });
}

Deno.test("metrics are served to loopback by default and refused to other addresses", async () => {
  await using t = await testApp();
  for (const ip of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
    const res = await scrape(t, ip);
    assert.equal(res.status, 200, ip);
    assert.equal(res.headers.get("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    parsePrometheus(await res.text());
  }
  const refused = await scrape(t, "203.0.113.7");
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /only to the networks in --metrics-allow/);
  // No token is configured: no bearer gets in, from anywhere.
  const guessed = await scrape(t, "127.0.0.1", `Bearer ${TOKEN}`);
  assert.equal(guessed.status, 401);
  await guessed.body?.cancel();
});

Deno.test("with a token, metrics reach a bearer anywhere and a wrong token nowhere", async () => {
  await using t = await testApp({
    metrics: { allow: [parseCidr("10.0.0.0/8")!], token: TOKEN },
  });
  const cases: [string, string | undefined, number][] = [
    ["203.0.113.7", `Bearer ${TOKEN}`, 200],
    ["203.0.113.7", undefined, 403],
    ["127.0.0.1", undefined, 403],
    ["10.1.2.3", undefined, 200],
    ["10.1.2.3", `Bearer ${TOKEN}x`, 401],
    ["10.1.2.3", `Bearer ${TOKEN.slice(0, -1)}`, 401],
    ["10.1.2.3", `Basic ${btoa(`x:${TOKEN}`)}`, 401],
    ["10.1.2.3", "Bearer", 401],
  ];
  for (const [ip, authorization, status] of cases) {
    const res = await scrape(t, ip, authorization);
    assert.equal(res.status, status, `${ip} ${authorization}`);
    const body = await res.text();
    if (status === 401) assert.equal(res.headers.get("WWW-Authenticate"), 'Bearer realm="metrics"');
    if (status === 200) assert.match(body, /^# TYPE assent_devices gauge$/m);
    else assert.doesNotMatch(body, /assent_/);
  }
});

Deno.test("the sample Grafana dashboard queries only metrics the server exports", async () => {
  await using t = await testApp();
  const exported = new Set(
    [...parsePrometheus(await (await scrape(t, "127.0.0.1")).text()).keys()],
  );
  const dashboard = JSON.parse(
    await Deno.readTextFile(new URL("../docs/grafana-dashboard.json", import.meta.url)),
  );
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      for (const m of target.expr.matchAll(/assent_[a-z_]+/g)) {
        used.add(m[0].replace(/_(bucket|sum|count)$/, ""));
      }
    }
  }
  assert.ok(used.size >= 10);
  assert.deepEqual([...used].filter((name) => !exported.has(name)), []);
});
