/**
 * Server configuration from flags, then environment variables, then a config file, then
 * defaults. Flags win so a one-off `--port 9000` overrides a deployment's environment, and the
 * environment wins over the file so a container can adjust a shipped file.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parse as parseToml } from "smol-toml";
import * as z from "zod";
import { type Cidr, parseCidr } from "./cidr.ts";
import { isLogLevel, type LogLevel } from "./log.ts";

/** Everything `assent serve` needs to know before it opens the database. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  /** A PostgreSQL URL; without it the database is a SQLite file in the data directory. */
  database?: string | null;
  publicUrl: string;
  /** Where the other nodes of a cluster reach this one; null: the URL it listens on. */
  internalUrl?: string | null;
  logLevel: LogLevel;
  trustProxy: boolean;
  /** SMTP delivery; null records mail in the outbox and the log only. */
  smtp: SmtpSettings | null;
  /** Where the support app's executables for customers are kept. */
  downloadsDir: string;
  /** Agent connections that may be in their handshake at once, per address and in all. */
  agentHandshakes?: { perAddress: number; total: number };
  /** Heartbeats a second this node keeps its idle agents within, by telling a longer interval. */
  agentHeartbeatsPerSecond?: number;
  /** Who may read /metrics: these address ranges, or a bearer of the token. */
  metrics?: { allow: Cidr[]; token: string | null };
  /** Scheduled backups into a folder, keeping the newest few; none when null. */
  backups?: { dir: string; everyMs: number; keep: number } | null;
  /** Webhooks declared in the config file, created or updated (by URL) at start. */
  webhooks?: DeclaredWebhook[];
}

/** A webhook from the config file's `[[webhooks]]`, its secret read from `secret-file` if so. */
export interface DeclaredWebhook {
  url: string;
  events: string[];
  secret: string;
  /** Where it was declared, for messages: `webhooks[1] in assent.toml`. */
  where: string;
}

/** How to reach the SMTP server. */
export interface SmtpSettings {
  host: string;
  port: number;
  security: "tls" | "starttls" | "none";
  user?: string;
  password?: string;
  from: string;
  allowInvalidCertificate: boolean;
}

/** A configuration mistake, reported to the operator in plain words. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Flag, environment variable and meaning of every server setting (the README lists these). */
export const SERVER_OPTIONS = {
  host: { env: "ASSENT_HOST", default: "127.0.0.1", help: "Address to listen on" },
  port: { env: "ASSENT_PORT", default: "8080", help: "TCP port to listen on" },
  "data-dir": {
    env: "ASSENT_DATA_DIR",
    default: "./data",
    help: "Directory for the database and the instance secret",
  },
  database: {
    env: "ASSENT_DATABASE_URL",
    default: "",
    help: "PostgreSQL database (postgres://user:password@host/name) instead of DATA_DIR/assent.db",
  },
  "public-url": {
    env: "ASSENT_PUBLIC_URL",
    default: "",
    help: "URL technicians, agents and email links use (default http://HOST:PORT)",
  },
  "internal-url": {
    env: "ASSENT_INTERNAL_URL",
    default: "",
    help: "URL the other nodes of a cluster reach this one at (default http://HOST:PORT)",
  },
  "downloads-dir": {
    env: "ASSENT_DOWNLOADS_DIR",
    default: "",
    help: "Agent packages and their manifest, from deno task package (default DATA_DIR/downloads)",
  },
  "log-level": { env: "ASSENT_LOG_LEVEL", default: "info", help: "debug, info, warn or error" },
  "agent-handshakes-per-address": {
    env: "ASSENT_AGENT_HANDSHAKES_PER_ADDRESS",
    default: "2",
    help: "Agent connections one address may have starting at once (more agents behind one NAT)",
  },
  "agent-handshakes": {
    env: "ASSENT_AGENT_HANDSHAKES",
    default: "16",
    help: "Agent connections that may be starting at once in all",
  },
  "agent-heartbeats-per-second": {
    env: "ASSENT_AGENT_HEARTBEATS_PER_SECOND",
    default: "500",
    help: "Heartbeats a second from idle agents past which they are told a longer interval",
  },
  "backup-dir": {
    env: "ASSENT_BACKUP_DIR",
    default: "",
    help: "Folder for scheduled backups (none without it)",
  },
  "backup-every": {
    env: "ASSENT_BACKUP_EVERY",
    default: "24h",
    help: "Time between scheduled backups: minutes (30m), hours (24h) or days (7d)",
  },
  "backup-keep": {
    env: "ASSENT_BACKUP_KEEP",
    default: "7",
    help: "Scheduled backups kept; older ones are deleted",
  },
  "metrics-allow": {
    env: "ASSENT_METRICS_ALLOW",
    default: "127.0.0.1/32,::1/128",
    help: "Address ranges that may read /metrics without a token (comma-separated)",
  },
  "metrics-token": {
    env: "ASSENT_METRICS_TOKEN",
    default: "",
    help: "Bearer token that may read /metrics from anywhere (prefer the environment)",
  },
  "trust-proxy": {
    env: "ASSENT_TRUST_PROXY",
    default: "false",
    help: "Take the client address from X-Forwarded-For (only behind a reverse proxy)",
  },
  "smtp-host": {
    env: "ASSENT_SMTP_HOST",
    default: "",
    help: "SMTP server for outgoing mail; without it mail is only recorded (admins read it)",
  },
  "smtp-port": { env: "ASSENT_SMTP_PORT", default: "587", help: "SMTP port" },
  "smtp-security": {
    env: "ASSENT_SMTP_SECURITY",
    default: "starttls",
    help: "starttls (587), tls (465) or none (a relay on localhost)",
  },
  "smtp-user": { env: "ASSENT_SMTP_USER", default: "", help: "SMTP user name, if it needs one" },
  "smtp-password": {
    env: "ASSENT_SMTP_PASSWORD",
    default: "",
    help: "SMTP password (prefer the environment variable)",
  },
  "smtp-from": {
    env: "ASSENT_SMTP_FROM",
    default: "Assent <assent@localhost>",
    help: "From address of the mail Assent sends",
  },
  "smtp-allow-invalid-certificate": {
    env: "ASSENT_SMTP_ALLOW_INVALID_CERTIFICATE",
    default: "false",
    help: "Accept a self-signed certificate from the SMTP server",
  },
} as const;

/** The name of a server setting: its flag without the dashes, and its key in a config file. */
export type OptionName = keyof typeof SERVER_OPTIONS;

/**
 * Settings that are secrets: each also has a `-file` variant (`--smtp-password-file`,
 * `ASSENT_SMTP_PASSWORD_FILE`, `smtp-password-file = …`) naming a file that holds the value,
 * so the secret itself need not sit in the environment or the config file.
 */
export const SECRET_OPTIONS = [
  "smtp-password",
  "metrics-token",
  "database",
] as const satisfies OptionName[];
type SecretName = typeof SECRET_OPTIONS[number];

function isSecret(name: string): name is SecretName {
  return (SECRET_OPTIONS as readonly string[]).includes(name);
}

/** A resolved setting: its value and where it came from, in words (`--port`, `ASSENT_PORT`…). */
export interface Setting {
  value: string;
  source: "flag" | "environment" | "file" | "default";
  where: string;
}

/** Every setting, resolved; `configFile` is the file read, if any. */
export interface ResolvedSettings {
  settings: Record<OptionName, Setting>;
  configFile: string | null;
  /** The config file's webhooks, in its order. */
  webhooks: DeclaredWebhook[];
}

/** Where settings come from besides the arguments (tests pass their own). */
export interface SettingSources {
  env?: (name: string) => string | undefined;
  readText?: (path: string) => string;
}

const FILE_VALUE = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
const FILE_KEYS = [
  ...Object.keys(SERVER_OPTIONS),
  ...SECRET_OPTIONS.map((n) => `${n}-file`),
];
/** The shortest webhook secret accepted (the Admin page asks the same). */
export const WEBHOOK_SECRET_MIN = 24;
const WebhookEntry = z.strictObject({
  url: z.string().max(2000),
  events: z.array(z.string().max(100)).min(1).max(100),
  secret: z.string().max(1000).optional(),
  "secret-file": z.string().max(4096).optional(),
});
type WebhookEntry = z.infer<typeof WebhookEntry>;
const ConfigFile = z.strictObject({
  ...Object.fromEntries(FILE_KEYS.map((k) => [k, FILE_VALUE.optional()])),
  webhooks: z.array(z.unknown()).max(100).optional(),
});

/** A config file's settings: flat text values, and its webhooks as declared. */
export interface ConfigFileContent {
  settings: Record<string, string>;
  webhooks: WebhookEntry[];
}

function webhookEntries(path: string, entries: unknown[]): WebhookEntry[] {
  return entries.map((entry, i) => {
    const key = `webhooks[${i + 1}]`;
    const parsed = WebhookEntry.safeParse(entry);
    if (parsed.success) {
      const { secret, "secret-file": secretFile } = parsed.data;
      if ((secret === undefined) === (secretFile === undefined)) {
        throw new ConfigError(
          `${key} in "${path}" needs secret or secret-file (one of them, not both)`,
        );
      }
      return parsed.data;
    }
    const issue = parsed.error.issues[0]!;
    if (issue.path.length === 0 && issue.code !== "unrecognized_keys") {
      throw new ConfigError(
        `${key} in "${path}" must be a table with url, events and secret or secret-file`,
      );
    }
    if (issue.code === "unrecognized_keys") {
      throw new ConfigError(
        `Unknown key "${issue.keys[0]}" in ${key} in "${path}"; a webhook has url, events, ` +
          "and secret or secret-file",
      );
    }
    const field = String(issue.path[0]);
    const problem = issue.code === "invalid_type" && issue.input === undefined ? "is missing" : {
      url: "must be the receiver's URL as text",
      events: 'must list one or more events as text, such as ["device.online"]',
      secret: "must be text",
      "secret-file": "must be the path of a file as text",
    }[field] ?? "is not valid";
    throw new ConfigError(`${field} of ${key} in "${path}" ${problem}`);
  });
}

function readSource(path: string, readText: (path: string) => string, what: string): string {
  try {
    return readText(path);
  } catch (err) {
    const reason = err instanceof Deno.errors.NotFound
      ? "there is no such file"
      : (err as Error).message;
    throw new ConfigError(`${what} "${path}" cannot be read: ${reason}`);
  }
}

/** Reads a TOML (or, by its `.json` name, JSON) config file into settings and webhooks. */
export function parseConfigFile(path: string, text: string): ConfigFileContent {
  let data: unknown;
  try {
    data = path.toLowerCase().endsWith(".json") ? JSON.parse(text) : parseToml(text);
  } catch (err) {
    const first = (err as Error).message.split("\n")[0];
    throw new ConfigError(`The config file "${path}" is not valid: ${first}`);
  }
  const parsed = ConfigFile.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    if (issue.code === "unrecognized_keys") {
      throw new ConfigError(
        `Unknown setting "${issue.keys[0]}" in "${path}"; the settings are the server's flags ` +
          'without "--" (assent help lists them)',
      );
    }
    if (issue.path.length === 0) {
      throw new ConfigError(`The config file "${path}" must hold settings as key = value`);
    }
    if (issue.path[0] === "webhooks") {
      throw new ConfigError(
        `"webhooks" in "${path}" must be a list of tables ([[webhooks]] in TOML), at most 100`,
      );
    }
    throw new ConfigError(
      `"${String(issue.path[0])}" in "${path}" must be text, a number, true or false, ` +
        "or a list of text",
    );
  }
  const { webhooks = [], ...flat } = parsed.data;
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(flat)) {
    if (value === undefined) continue;
    settings[key] = Array.isArray(value) ? value.join(",") : String(value);
  }
  return { settings, webhooks: webhookEntries(path, webhooks as unknown[]) };
}

/**
 * Resolves every server setting: flags win over environment variables, which win over the
 * config file (`--config` or `ASSENT_CONFIG`), which wins over the defaults. A secret's `-file`
 * variant counts at the level it is given at; giving both forms at one level is refused.
 */
export function resolveSettings(args: string[], sources: SettingSources = {}): ResolvedSettings {
  const env = sources.env ?? ((n: string) => Deno.env.get(n));
  const readText = sources.readText ?? ((path: string) => Deno.readTextFileSync(path));
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({
      args,
      options: Object.fromEntries(
        [...FILE_KEYS, "config"].map((k) => [k, { type: "string" as const }]),
      ),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | undefined>;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const configFile = values.config ?? env("ASSENT_CONFIG") ?? null;
  const content = configFile
    ? parseConfigFile(configFile, readSource(configFile, readText, "The config file"))
    : { settings: {}, webhooks: [] };
  const file = content.settings;
  const envName = (key: string) =>
    isSecret(key.replace(/-file$/, "")) && key.endsWith("-file")
      ? `${SERVER_OPTIONS[key.replace(/-file$/, "") as OptionName].env}_FILE`
      : SERVER_OPTIONS[key as OptionName].env;
  const levels = [
    { source: "flag" as const, get: (k: string) => values[k], where: (k: string) => `--${k}` },
    { source: "environment" as const, get: (k: string) => env(envName(k)), where: envName },
    {
      source: "file" as const,
      get: (k: string) => file[k],
      where: (k: string) => `${k} in ${configFile}`,
    },
  ];
  const settings = {} as Record<OptionName, Setting>;
  for (const name of Object.keys(SERVER_OPTIONS) as OptionName[]) {
    let setting: Setting | null = null;
    for (const level of levels) {
      const direct = level.get(name);
      const viaFile = isSecret(name) ? level.get(`${name}-file`) : undefined;
      if (direct !== undefined && viaFile !== undefined) {
        throw new ConfigError(
          `Give ${level.where(name)} or ${level.where(`${name}-file`)}, not both`,
        );
      }
      if (direct !== undefined) {
        setting = { value: direct, source: level.source, where: level.where(name) };
      } else if (viaFile !== undefined) {
        const where = level.where(`${name}-file`);
        const value = readSource(viaFile, readText, `The file of ${where}`).replace(/\r?\n$/, "");
        if (value === "") throw new ConfigError(`The file of ${where} ("${viaFile}") is empty`);
        setting = { value, source: level.source, where };
      }
      if (setting) break;
    }
    settings[name] = setting ??
      { value: SERVER_OPTIONS[name].default, source: "default", where: "default" };
  }
  const seen = new Set<string>();
  const webhooks = content.webhooks.map((entry, i): DeclaredWebhook => {
    const where = `webhooks[${i + 1}] in ${configFile}`;
    if (seen.has(entry.url.trim())) {
      throw new ConfigError(`The url of ${where} is declared twice; give each receiver once`);
    }
    seen.add(entry.url.trim());
    let secret = entry.secret;
    if (secret === undefined) {
      const path = entry["secret-file"]!;
      secret = readSource(path, readText, `The secret-file of ${where}`).replace(/\r?\n$/, "");
      if (secret === "") throw new ConfigError(`The secret-file of ${where} ("${path}") is empty`);
    }
    if (secret.trim().length < WEBHOOK_SECRET_MIN) {
      throw new ConfigError(
        `The secret of ${where} must be at least ${WEBHOOK_SECRET_MIN} characters`,
      );
    }
    return { url: entry.url.trim(), events: entry.events, secret: secret.trim(), where };
  });
  return { settings, configFile, webhooks };
}

/** Parses `serve` arguments, the environment and the config file into a {@link ServerConfig}. */
export function parseServerConfig(
  args: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  readText?: (path: string) => string,
): ServerConfig {
  const resolved = resolveSettings(args, { env, readText });
  return { ...configFromSettings(resolved.settings), webhooks: resolved.webhooks };
}

/** Checks resolved settings and builds the configuration; errors name the setting's source. */
export function configFromSettings(settings: Record<OptionName, Setting>): ServerConfig {
  const get = (name: OptionName): string => settings[name].value;
  const bad = (name: OptionName, message: string) =>
    new ConfigError(
      settings[name].source === "default" ? message : `${message} (${settings[name].where})`,
    );

  const host = get("host");
  const port = Number(get("port"));
  if (get("port").trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw bad("port", `Port must be a number from 0 to 65535, got "${get("port")}"`);
  }
  const logLevel = get("log-level");
  if (!isLogLevel(logLevel)) {
    throw bad("log-level", `Log level must be debug, info, warn or error, got "${logLevel}"`);
  }
  const trust = get("trust-proxy").toLowerCase();
  if (!["true", "false", "1", "0", "yes", "no"].includes(trust)) {
    throw bad("trust-proxy", `Trust proxy must be true or false, got "${trust}"`);
  }
  let smtp: SmtpSettings | null = null;
  if (get("smtp-host")) {
    const smtpPort = Number(get("smtp-port"));
    if (!Number.isInteger(smtpPort) || smtpPort < 1 || smtpPort > 65535) {
      throw bad(
        "smtp-port",
        `SMTP port must be a number from 1 to 65535, got "${get("smtp-port")}"`,
      );
    }
    const security = get("smtp-security");
    if (security !== "tls" && security !== "starttls" && security !== "none") {
      throw bad(
        "smtp-security",
        `SMTP security must be starttls, tls or none, got "${security}"`,
      );
    }
    smtp = {
      host: get("smtp-host"),
      port: smtpPort,
      security,
      user: get("smtp-user") || undefined,
      password: get("smtp-password") || undefined,
      from: get("smtp-from"),
      allowInvalidCertificate: ["true", "1", "yes"].includes(
        get("smtp-allow-invalid-certificate").toLowerCase(),
      ),
    };
  }
  const handshakes = (name: "agent-handshakes-per-address" | "agent-handshakes") => {
    const value = Number(get(name));
    if (!Number.isInteger(value) || value < 1) {
      throw bad(name, `${name} must be a whole number of at least 1, got "${get(name)}"`);
    }
    return value;
  };
  const agentHandshakes = {
    perAddress: handshakes("agent-handshakes-per-address"),
    total: handshakes("agent-handshakes"),
  };
  const agentHeartbeatsPerSecond = Number(get("agent-heartbeats-per-second"));
  if (!Number.isInteger(agentHeartbeatsPerSecond) || agentHeartbeatsPerSecond < 1) {
    throw bad(
      "agent-heartbeats-per-second",
      `agent-heartbeats-per-second must be a whole number of at least 1, got "${
        get("agent-heartbeats-per-second")
      }"`,
    );
  }
  const database = get("database");
  if (database && !/^postgres(ql)?:\/\/[^/]/i.test(database)) {
    throw bad("database", `database must be a postgres:// URL, got "${redactUrl(database)}"`);
  }
  let backups: ServerConfig["backups"] = null;
  if (get("backup-dir") && database) {
    throw bad(
      "backup-dir",
      "backup-dir backs up the SQLite file; with a PostgreSQL database use pg_dump instead",
    );
  }
  if (get("backup-dir")) {
    const everyMs = parseDuration(get("backup-every"));
    if (everyMs === null || everyMs < 60_000) {
      throw bad(
        "backup-every",
        `backup-every must be a time such as 30m, 24h or 7d (at least 1m), got "${
          get("backup-every")
        }"`,
      );
    }
    const keep = Number(get("backup-keep"));
    if (!Number.isInteger(keep) || keep < 1 || keep > 10_000) {
      throw bad(
        "backup-keep",
        `backup-keep must be a whole number from 1, got "${get("backup-keep")}"`,
      );
    }
    backups = { dir: get("backup-dir"), everyMs, keep };
  }
  const allow = get("metrics-allow").split(",").map((t) => t.trim()).filter((t) => t !== "")
    .map((text) => {
      const cidr = parseCidr(text);
      if (!cidr) {
        throw bad(
          "metrics-allow",
          `metrics-allow must list address ranges such as 10.0.0.0/8, got "${text}"`,
        );
      }
      return cidr;
    });
  const metricsToken = get("metrics-token");
  if (metricsToken && metricsToken.length < 32) {
    throw bad("metrics-token", "metrics-token must be at least 32 characters");
  }
  let publicUrl: string;
  try {
    publicUrl = normalizeUrl(get("public-url") || listenUrl(host, port));
  } catch (err) {
    throw bad("public-url", (err as Error).message);
  }
  let internalUrl: string | null = null;
  try {
    if (get("internal-url")) internalUrl = normalizeUrl(get("internal-url"), "Internal URL");
  } catch (err) {
    throw bad("internal-url", (err as Error).message);
  }
  return {
    host,
    port,
    dataDir: get("data-dir"),
    database: database || null,
    downloadsDir: get("downloads-dir") || join(get("data-dir"), "downloads"),
    publicUrl,
    internalUrl,
    logLevel,
    trustProxy: ["true", "1", "yes"].includes(trust),
    smtp,
    agentHandshakes,
    agentHeartbeatsPerSecond,
    backups,
    metrics: { allow, token: metricsToken || null },
  };
}

/**
 * The effective configuration as `assent config check` prints it: one `key = value` line per
 * setting with where it came from; secrets show only whether they are set.
 */
export function describeSettings(resolved: ResolvedSettings): string {
  const lines = [
    `# Effective configuration (flags > environment > ${
      resolved.configFile ? `"${resolved.configFile}"` : "config file"
    } > defaults)`,
  ];
  for (const [name, setting] of Object.entries(resolved.settings) as [OptionName, Setting][]) {
    const shown = isSecret(name) && setting.value !== ""
      ? '"********"'
      : JSON.stringify(setting.value);
    const from = setting.source === "default" ? "default" : `from ${setting.where}`;
    lines.push(`${`${name} = ${shown}`.padEnd(52)} # ${from}`);
  }
  resolved.webhooks.forEach((webhook, i) => {
    // The receiver's path may itself be a secret (a token in the URL), so only its origin shows.
    let receiver = "(invalid)";
    try {
      const url = new URL(webhook.url);
      receiver = url.origin + (url.pathname + url.search === "/" ? "/" : "/…");
    } catch {
      // Shown as invalid; the server refuses it at start with the reason.
    }
    lines.push(
      `webhooks[${i + 1}] = { url = ${JSON.stringify(receiver)}, events = ${
        JSON.stringify(webhook.events)
      }, secret = "********" } # from ${webhook.where}`,
    );
  });
  return lines.join("\n");
}

/** `url` with any password replaced, for messages. */
function redactUrl(url: string): string {
  return url.replace(/^([^:/]+:\/\/[^:@/]*):[^@/]*@/, "$1:********@");
}

/** Milliseconds in a duration such as `90s`, `30m`, `24h` or `7d`; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = text.trim().match(/^(\d{1,9})\s*(s|m|h|d)$/);
  if (!m) return null;
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}

/** The URL of a server listening on `host` and `port` (on every address: loopback's). */
export function listenUrl(host: string, port: number): string {
  return `http://${hostForUrl(host)}:${port}`;
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

function normalizeUrl(value: string, what = "Public URL"): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${what} must start with http:// or https://, got "${value}"`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}
