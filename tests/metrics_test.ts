// /metrics of a real server with a real agent, scraped over loopback and read by a strict
// text-format parser.
import assert from "node:assert/strict";
import { PASSWORD } from "./support/accounts.ts";
import { parsePrometheus, sampleValue } from "./support/prometheus.ts";
import { until } from "./support/wait.ts";
import { world } from "./support/world.ts";

const FAMILIES = {
  assent_build_info: "gauge",
  assent_devices: "gauge",
  assent_agents_connected: "gauge",
  assent_support_sessions: "gauge",
  assent_authorization_attempts_total: "counter",
  assent_authorization_decision_seconds: "histogram",
  assent_channels_open: "gauge",
  assent_relay_bytes_total: "counter",
  assent_transfer_bytes_total: "counter",
  assent_outbox_messages: "gauge",
  assent_mail_delivery_failures_total: "counter",
  assent_sign_in_failures_total: "counter",
  assent_rate_limit_refusals_total: "counter",
  assent_scheduler_lag_seconds: "gauge",
  assent_scheduler_running: "gauge",
  assent_scheduler_leader: "gauge",
  assent_backup_last_age_seconds: "gauge",
  assent_process_memory_bytes: "gauge",
};

Deno.test("metrics count devices, agents, sessions, decisions with their latency and sign-in failures", async () => {
  await using w = await world();
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { agent, deviceId } = await w.agent("PC-METRICS");
  const scrape = async () => {
    const res = await fetch(`${w.server.url}/metrics`);
    assert.equal(res.status, 200);
    return parsePrometheus(await res.text());
  };

  const stranger = w.client();
  await stranger.get("/login");
  await stranger.post("/login", { email: "owner@example.com", password: PASSWORD + "x" });

  await w.owner.get(`/devices/${deviceId}`);
  assert.equal((await w.owner.post(`/devices/${deviceId}/sessions`, { asUser: "" })).status, 303);
  const panel = await (await w.owner.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = panel.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)?.[1];
  assert.ok(sessionId);
  await w.owner.post(`/sessions/${sessionId}/authorize`);
  await agent.waitForScreen(/wants to connect to this device/);
  const waiting = await scrape();
  assert.equal(sampleValue(waiting, "assent_support_sessions", { status: "authorizing" }), 1);
  await agent.type("a");
  await until(
    "the grant counted",
    async () =>
      sampleValue(await scrape(), "assent_authorization_attempts_total", { outcome: "granted" }) ===
        1,
  );

  const m = await scrape();
  for (const [name, type] of Object.entries(FAMILIES)) {
    assert.equal(m.get(name)?.type, type, name);
  }
  assert.equal(sampleValue(m, "assent_devices", { state: "online" }), 1);
  assert.equal(sampleValue(m, "assent_devices", { state: "offline" }), 0);
  assert.equal(sampleValue(m, "assent_agents_connected"), 1);
  assert.equal(sampleValue(m, "assent_support_sessions", { status: "authorized" }), 1);
  assert.equal(sampleValue(m, "assent_authorization_attempts_total", { outcome: "rejected" }), 0);
  assert.equal(
    sampleValue(m, "assent_authorization_decision_seconds_count", { outcome: "granted" }),
    1,
  );
  assert.ok(
    sampleValue(m, "assent_authorization_decision_seconds_sum", { outcome: "granted" })! > 0,
    "the time the end user took to answer",
  );
  assert.equal(sampleValue(m, "assent_sign_in_failures_total", { step: "password" }), 1);
  assert.equal(sampleValue(m, "assent_channels_open", { kind: "terminal" }), 0);
  assert.equal(sampleValue(m, "assent_scheduler_running"), 1);
  assert.equal(sampleValue(m, "assent_scheduler_leader"), 1, "a lone server fires its deadlines");
  assert.ok(sampleValue(m, "assent_process_memory_bytes", { kind: "rss" })! > 10_000_000);
  assert.equal(
    sampleValue(m, "assent_rate_limit_refusals_total", { limit: "sign_in_account" }),
    0,
  );
});
