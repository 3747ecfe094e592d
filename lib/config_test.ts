import assert from "node:assert/strict";
import { ConfigError, describeSettings, parseServerConfig, resolveSettings } from "./config.ts";

const noEnv = () => undefined;

Deno.test("server config defaults to 127.0.0.1:8080 with ./data", () => {
  // Metrics' address ranges have a test of their own.
  const { metrics: _, ...config } = parseServerConfig([], noEnv);
  assert.deepEqual(config, {
    host: "127.0.0.1",
    port: 8080,
    dataDir: "./data",
    database: null,
    publicUrl: "http://127.0.0.1:8080",
    internalUrl: null,
    logLevel: "info",
    trustProxy: false,
    smtp: null,
    downloadsDir: "data/downloads",
    agentHandshakes: { perAddress: 2, total: 16 },
    agentHeartbeatsPerSecond: 500,
    backups: null,
    webhooks: [],
  });
});

Deno.test("a PostgreSQL URL selects that database; anything else is refused without its password", () => {
  const url = "postgres://assent:s3cret-pw@db.example.internal:5432/assent";
  assert.equal(parseServerConfig(["--database", url], noEnv).database, url);
  const env = (name: string) => name === "ASSENT_DATABASE_URL" ? url : undefined;
  assert.equal(parseServerConfig([], env).database, url);
  let refused: unknown;
  try {
    parseServerConfig(["--database", "mysql://root:hunter22@db/assent"], noEnv);
  } catch (err) {
    refused = err;
  }
  assert.ok(refused instanceof ConfigError);
  assert.match(refused.message, /database must be a postgres:\/\/ URL/);
  assert.doesNotMatch(refused.message, /hunter22/);
  assert.throws(
    () => parseServerConfig(["--database", url, "--backup-dir", "/var/backups/assent"], noEnv),
    /with a PostgreSQL database use pg_dump/,
  );
  const shown = describeSettings(resolveSettings(["--database", url], { env: noEnv }));
  assert.doesNotMatch(shown, /s3cret-pw/, "config check masks the URL, which holds a password");
  assert.match(shown, /database = "\*\*\*\*\*\*\*\*"/);
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

Deno.test("the heartbeat budget of a node can be set, and must be a whole number", () => {
  const env = (n: string) => n === "ASSENT_AGENT_HEARTBEATS_PER_SECOND" ? "100" : undefined;
  assert.equal(parseServerConfig([], env).agentHeartbeatsPerSecond, 100);
  assert.equal(
    parseServerConfig(["--agent-heartbeats-per-second", "2000"], noEnv).agentHeartbeatsPerSecond,
    2000,
  );
  assert.throws(
    () => parseServerConfig(["--agent-heartbeats-per-second", "0.5"], noEnv),
    (e) =>
      e instanceof ConfigError &&
      /agent-heartbeats-per-second must be a whole number/.test(e.message),
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

Deno.test("the internal URL is taken as given, from the flag before the environment", () => {
  const env = (n: string) => ({ ASSENT_INTERNAL_URL: "http://node-a.cluster.internal:8080/" })[n];
  assert.equal(parseServerConfig([], env).internalUrl, "http://node-a.cluster.internal:8080");
  assert.equal(
    parseServerConfig(["--internal-url", "https://10.0.0.7:9443"], env).internalUrl,
    "https://10.0.0.7:9443",
    "the flag wins over the environment",
  );
  assert.throws(
    () => parseServerConfig([], (n) => ({ ASSENT_INTERNAL_URL: "node-a:8080" })[n]),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message ===
        'Internal URL must start with http:// or https://, got "node-a:8080" (ASSENT_INTERNAL_URL)',
  );
  assert.throws(
    () => parseServerConfig(["--internal-url", "not a url"], noEnv),
    /^ConfigError: Internal URL must be an absolute http\(s\) URL, got "not a url" \(--internal-url\)$/,
  );
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

function files(map: Record<string, string>) {
  return (path: string) => {
    if (!(path in map)) throw new Deno.errors.NotFound(path);
    return map[path]!;
  };
}

Deno.test("a TOML config file sits below flags and the environment and above the defaults", () => {
  const toml = `
host = "0.0.0.0"
port = 9090
data-dir = "/srv/assent"
log-level = "warn"
trust-proxy = true
metrics-allow = ["10.0.0.0/8", "::1/128"]
backup-dir = "/srv/backups"
backup-keep = 3
`;
  const read = files({ "/etc/assent.toml": toml });
  const fromFile = parseServerConfig(["--config", "/etc/assent.toml"], noEnv, read);
  assert.equal(fromFile.host, "0.0.0.0");
  assert.equal(fromFile.port, 9090);
  assert.equal(fromFile.dataDir, "/srv/assent");
  assert.equal(fromFile.downloadsDir, "/srv/assent/downloads");
  assert.equal(fromFile.logLevel, "warn");
  assert.equal(fromFile.trustProxy, true);
  assert.deepEqual(fromFile.metrics?.allow.map((c) => c.text), ["10.0.0.0/8", "::1/128"]);
  assert.deepEqual(fromFile.backups, { dir: "/srv/backups", everyMs: 86_400_000, keep: 3 });

  const env = (n: string) =>
    ({ ASSENT_CONFIG: "/etc/assent.toml", ASSENT_PORT: "7070", ASSENT_LOG_LEVEL: "debug" })[n];
  const layered = parseServerConfig(["--log-level", "error"], env, read);
  assert.equal(layered.port, 7070, "the environment wins over the file");
  assert.equal(layered.logLevel, "error", "a flag wins over both");
  assert.equal(layered.host, "0.0.0.0", "the file wins over the default");
});

Deno.test("a JSON config file works the same, by its name", () => {
  const read = files({ "/etc/assent.json": '{"port": 9443, "smtp-host": "mail.example.com"}' });
  const config = parseServerConfig(["--config", "/etc/assent.json"], noEnv, read);
  assert.equal(config.port, 9443);
  assert.equal(config.smtp?.host, "mail.example.com");
});

Deno.test("secrets come from files named by -file variants at each level, never both forms", () => {
  const read = files({
    "/run/secrets/smtp": "s3cret-from-file\n",
    "/run/secrets/metrics": "m".repeat(40) + "\n",
    "/etc/assent.toml":
      'smtp-host = "mail.example.com"\nsmtp-password-file = "/run/secrets/smtp"\n',
    "/run/secrets/empty": "\n",
  });
  const config = parseServerConfig(["--config", "/etc/assent.toml"], noEnv, read);
  assert.equal(config.smtp?.password, "s3cret-from-file");
  const env = (n: string) =>
    ({ ASSENT_METRICS_TOKEN_FILE: "/run/secrets/metrics", ASSENT_SMTP_PASSWORD: "from-env" })[n];
  const layered = parseServerConfig(["--config", "/etc/assent.toml"], env, read);
  assert.equal(layered.metrics?.token, "m".repeat(40));
  assert.equal(layered.smtp?.password, "from-env", "the environment's value beats the file's");
  const cases: [string[], RegExp][] = [
    [
      ["--smtp-password", "x", "--smtp-password-file", "/run/secrets/smtp"],
      /Give --smtp-password or --smtp-password-file, not both/,
    ],
    [
      ["--smtp-password-file", "/run/secrets/none"],
      /The file of --smtp-password-file "\/run\/secrets\/none" cannot be read: there is no such file/,
    ],
    [["--metrics-token-file", "/run/secrets/empty"], /is empty/],
  ];
  for (const [args, message] of cases) {
    assert.throws(
      () => parseServerConfig(args, noEnv, read),
      (e) => e instanceof ConfigError && message.test(e.message),
      args.join(" "),
    );
  }
});

Deno.test("config file mistakes are refused in plain words naming the key and the file", () => {
  const cases: [string, string, RegExp][] = [
    [
      "a.toml",
      "prot = 8080\n",
      /Unknown setting "prot" in "a.toml"; the settings are the server's flags/,
    ],
    [
      "b.toml",
      "port = 99999\n",
      /Port must be a number from 0 to 65535, got "99999" \(port in b.toml\)/,
    ],
    ["c.toml", "port = { a = 1 }\n", /"port" in "c.toml" must be text, a number, true or false/],
    ["d.toml", "port = \n", /The config file "d.toml" is not valid/],
    ["e.json", "[1, 2]", /must hold settings as key = value/],
    [
      "f.toml",
      'backup-dir = "/b"\nbackup-every = "weekly"\n',
      /backup-every must be a time.*\(backup-every in f.toml\)/,
    ],
    ["g.toml", 'config = "other.toml"\n', /Unknown setting "config"/],
  ];
  for (const [path, text, message] of cases) {
    assert.throws(
      () => parseServerConfig(["--config", path], noEnv, files({ [path]: text })),
      (e) => e instanceof ConfigError && message.test(e.message),
      path,
    );
  }
  assert.throws(
    () => parseServerConfig(["--config", "missing.toml"], noEnv, files({})),
    (e) =>
      e instanceof ConfigError &&
      /"missing.toml" cannot be read: there is no such file/.test(e.message),
  );
  assert.throws(
    () => parseServerConfig(["--port", "x"], (n) => ({ ASSENT_PORT: "1" })[n]),
    (e) => e instanceof ConfigError && /got "x" \(--port\)/.test(e.message),
  );
});

Deno.test("webhooks are declared in the config file, with their secret inline or in a file", () => {
  const read = files({
    "/run/secrets/hook": "whsec_from-a-file-long-enough-0123\n",
    "/etc/assent.toml": [
      "port = 9000",
      "[[webhooks]]",
      'url = "https://tickets.example.com/hooks/assent?token=path-secret"',
      'events = ["authorization.granted", "device.offline"]',
      'secret-file = "/run/secrets/hook"',
      "[[webhooks]]",
      'url = "http://127.0.0.1:9999/"',
      'events = ["device.online"]',
      'secret = "an-inline-secret-long-enough-0123"',
    ].join("\n"),
  });
  const resolved = resolveSettings(["--config", "/etc/assent.toml"], {
    env: noEnv,
    readText: read,
  });
  assert.deepEqual(resolved.webhooks.map((w) => [w.url, w.events, w.secret, w.where]), [
    [
      "https://tickets.example.com/hooks/assent?token=path-secret",
      ["authorization.granted", "device.offline"],
      "whsec_from-a-file-long-enough-0123",
      "webhooks[1] in /etc/assent.toml",
    ],
    [
      "http://127.0.0.1:9999/",
      ["device.online"],
      "an-inline-secret-long-enough-0123",
      "webhooks[2] in /etc/assent.toml",
    ],
  ]);
  const config = parseServerConfig(["--config", "/etc/assent.toml"], noEnv, read);
  assert.equal(config.webhooks?.length, 2);

  const shown = describeSettings(resolved);
  assert.match(
    shown,
    /^webhooks\[1\] = \{ url = "https:\/\/tickets\.example\.com\/…", events = \["authorization\.granted","device\.offline"\], secret = "\*+" \} # from webhooks\[1\] in \/etc\/assent\.toml$/m,
  );
  for (const secret of ["whsec_from-a-file", "an-inline-secret", "path-secret", "hooks/assent"]) {
    assert.ok(!shown.includes(secret), `${secret} is not shown`);
  }
});

Deno.test("webhook mistakes in the config file are refused in plain words naming the key", () => {
  const read = (text: string) =>
    files({ "/etc/a.toml": text, "/run/short": "short\n", "/run/empty": "\n" });
  const hook = (...lines: string[]) => ["[[webhooks]]", ...lines].join("\n");
  const url = 'url = "https://t.example.com/h"';
  const events = 'events = ["device.online"]';
  const cases: [string, RegExp][] = [
    [hook(url, events), /webhooks\[1\] in "\/etc\/a.toml" needs secret or secret-file/],
    [
      hook(url, events, 'secret = "a-long-enough-secret-0123456789"', 'secret-file = "/x"'),
      /needs secret or secret-file \(one of them, not both\)/,
    ],
    [
      hook(url, events, 'secret-file = "/run/none"'),
      /The secret-file of webhooks\[1\] in \/etc\/a.toml "\/run\/none" cannot be read: there is no such file/,
    ],
    [hook(url, events, 'secret-file = "/run/empty"'), /secret-file of webhooks\[1\].*is empty/],
    [
      hook(url, events, 'secret-file = "/run/short"'),
      /The secret of webhooks\[1\] in \/etc\/a.toml must be at least 24 characters/,
    ],
    [
      hook(url, 'secret = "a-long-enough-secret-0123456789"'),
      /events of webhooks\[1\] in "\/etc\/a.toml" is missing/,
    ],
    [
      hook(url, "events = []", 'secret = "a-long-enough-secret-0123456789"'),
      /events of webhooks\[1\].*must list one or more events/,
    ],
    [
      hook(url, events, 'secret = "a-long-enough-secret-0123456789"', "secret_file = 1"),
      /Unknown key "secret_file" in webhooks\[1\]/,
    ],
    [
      'webhooks = "https://t.example.com"\n',
      /"webhooks" in "\/etc\/a.toml" must be a list of tables/,
    ],
    [
      [
        hook(url, events, 'secret = "a-long-enough-secret-0123456789"'),
        hook(url, events, 'secret = "a-long-enough-secret-0123456789"'),
      ].join("\n"),
      /The url of webhooks\[2\] in \/etc\/a.toml is declared twice/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseServerConfig(["--config", "/etc/a.toml"], noEnv, read(text)),
      (e) => e instanceof ConfigError && message.test(e.message),
      text,
    );
  }
});
