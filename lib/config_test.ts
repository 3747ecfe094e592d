import assert from "node:assert/strict";
import { ConfigError, parseServerConfig } from "./config.ts";

const noEnv = () => undefined;

Deno.test("server config defaults to 127.0.0.1:8080 with ./data", () => {
  // Metrics' address ranges have a test of their own.
  const { metrics: _, ...config } = parseServerConfig([], noEnv);
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 8080,
    dataDir: "./data",
    publicUrl: "http://127.0.0.1:8080",
    logLevel: "info",
    trustProxy: false,
    smtp: null,
    downloadsDir: "data/downloads",
    agentHandshakes: { perAddress: 2, total: 16 },
    backups: null,
  });
});

Deno.test("scheduled backups need a folder, and take plain intervals and counts", () => {
  const env = (n: string) => ({ ASSENT_BACKUP_DIR: "/var/backups/assent" })[n];
  assert.deepEqual(parseServerConfig([], env).backups, {
    dir: "/var/backups/assent",
    everyMs: 24 * 3600_000,
    keep: 7,
  });
  assert.deepEqual(
    parseServerConfig(["--backup-every", "6h", "--backup-keep", "28"], env).backups,
    { dir: "/var/backups/assent", everyMs: 6 * 3600_000, keep: 28 },
  );
  for (
    const [flag, value, message] of [
      ["--backup-every", "daily", /backup-every must be a time such as 30m, 24h or 7d/],
      ["--backup-every", "10s", /at least 1m/],
      ["--backup-keep", "0", /backup-keep must be a whole number/],
    ] as const
  ) {
    assert.throws(
      () => parseServerConfig([flag, value], env),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("agent handshake caps can be raised for many agents behind one address", () => {
  const env = (n: string) => n === "ASSENT_AGENT_HANDSHAKES" ? "200" : undefined;
  const config = parseServerConfig(["--agent-handshakes-per-address", "50"], env);
  assert.deepEqual(config.agentHandshakes, { perAddress: 50, total: 200 });
  assert.throws(
    () => parseServerConfig(["--agent-handshakes", "0"], noEnv),
    (e) => e instanceof ConfigError && /agent-handshakes must be a whole number/.test(e.message),
  );
});

Deno.test("the support app downloads folder follows the data dir unless set", () => {
  assert.equal(
    parseServerConfig(["--data-dir", "/srv/assent"], noEnv).downloadsDir,
    "/srv/assent/downloads",
  );
  const env = (n: string) => ({ ASSENT_DOWNLOADS_DIR: "/opt/assent/apps" })[n];
  assert.equal(parseServerConfig([], env).downloadsDir, "/opt/assent/apps");
  assert.equal(
    parseServerConfig(["--downloads-dir", "/mnt/apps"], env).downloadsDir,
    "/mnt/apps",
  );
});

Deno.test("server config reads SMTP settings and checks them", () => {
  const env = (n: string) => ({ ASSENT_SMTP_PASSWORD: "s3cret" })[n];
  const config = parseServerConfig([
    "--smtp-host",
    "mail.example.com",
    "--smtp-port",
    "465",
    "--smtp-security",
    "tls",
    "--smtp-user",
    "assent",
  ], env);
  assert.deepEqual(config.smtp, {
    host: "mail.example.com",
    port: 465,
    security: "tls",
    user: "assent",
    password: "s3cret",
    from: "Assent <assent@localhost>",
    allowInvalidCertificate: false,
  });
  assert.throws(
    () => parseServerConfig(["--smtp-host", "x", "--smtp-security", "ssl"], noEnv),
    /SMTP security must be/,
  );
});

Deno.test("server config flags win over environment variables", () => {
  const env = (n: string) =>
    ({ ASSENT_PORT: "9000", ASSENT_LOG_LEVEL: "debug", ASSENT_DATA_DIR: "/srv" })[n];
  const config = parseServerConfig(["--port", "9100"], env);
  assert.equal(config.port, 9100);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.dataDir, "/srv");
});

Deno.test("server config keeps an explicit public URL without a trailing slash", () => {
  const config = parseServerConfig(["--public-url", "https://help.example.com/"], noEnv);
  assert.equal(config.publicUrl, "https://help.example.com");
});

Deno.test("server config refuses bad values with a plain message", () => {
  assert.throws(() => parseServerConfig(["--port", "http"], noEnv), ConfigError);
  assert.throws(() => parseServerConfig(["--log-level", "loud"], noEnv), /Log level must be/);
  assert.throws(() => parseServerConfig(["--public-url", "ftp://x"], noEnv), /http/);
  assert.throws(() => parseServerConfig(["--trust-proxy", "maybe"], noEnv), /Trust proxy/);
  assert.throws(() => parseServerConfig(["--nope", "1"], noEnv));
});

Deno.test("metrics go to loopback by default; other ranges and a long token can be set", () => {
  const config = parseServerConfig([], noEnv);
  assert.deepEqual(config.metrics?.allow.map((c) => c.text), ["127.0.0.1/32", "::1/128"]);
  assert.equal(config.metrics?.token, null);
  const token = "t".repeat(32);
  const env = (n: string) => ({ ASSENT_METRICS_TOKEN: token })[n];
  const set = parseServerConfig(["--metrics-allow", "10.0.0.0/8, fd00::/8"], env);
  assert.deepEqual(set.metrics?.allow.map((c) => c.text), ["10.0.0.0/8", "fd00::/8"]);
  assert.equal(set.metrics?.token, token);
  assert.throws(
    () => parseServerConfig(["--metrics-allow", "10.0.0.0/40"], noEnv),
    (e) =>
      e instanceof ConfigError &&
      /metrics-allow must list address ranges.*10.0.0.0\/40/.test(e.message),
  );
  assert.throws(
    () => parseServerConfig(["--metrics-token", "short"], noEnv),
    (e) => e instanceof ConfigError && /at least 32 characters/.test(e.message),
  );
});
