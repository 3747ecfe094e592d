/**
 * Server configuration from flags, then environment variables, then defaults.
 * Flags win so a one-off `--port 9000` overrides a deployment's environment.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { isLogLevel, type LogLevel } from "./log.ts";

/** Everything `assent serve` needs to know before it opens the database. */
export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  publicUrl: string;
  logLevel: LogLevel;
  trustProxy: boolean;
  /** SMTP delivery; null records mail in the outbox and the log only. */
  smtp: SmtpSettings | null;
  /** Where the support app's executables for customers are kept. */
  downloadsDir: string;
  /** Agent connections that may be in their handshake at once, per address and in all. */
  agentHandshakes?: { perAddress: number; total: number };
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
  "public-url": {
    env: "ASSENT_PUBLIC_URL",
    default: "",
    help: "URL technicians, agents and email links use (default http://HOST:PORT)",
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

type OptionName = keyof typeof SERVER_OPTIONS;

/** Parses `serve` arguments and the environment into a checked {@link ServerConfig}. */
export function parseServerConfig(
  args: string[],
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): ServerConfig {
  const { values } = parseArgs({
    args,
    options: Object.fromEntries(
      Object.keys(SERVER_OPTIONS).map((k) => [k, { type: "string" as const }]),
    ),
    strict: true,
    allowPositionals: false,
  });
  const get = (name: OptionName): string =>
    (values[name] as string | undefined) ?? env(SERVER_OPTIONS[name].env) ??
      SERVER_OPTIONS[name].default;

  const host = get("host");
  const port = Number(get("port"));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError(`Port must be a number from 0 to 65535, got "${get("port")}"`);
  }
  const logLevel = get("log-level");
  if (!isLogLevel(logLevel)) {
    throw new ConfigError(`Log level must be debug, info, warn or error, got "${logLevel}"`);
  }
  const trust = get("trust-proxy").toLowerCase();
  if (!["true", "false", "1", "0", "yes", "no"].includes(trust)) {
    throw new ConfigError(`Trust proxy must be true or false, got "${trust}"`);
  }
  let smtp: SmtpSettings | null = null;
  if (get("smtp-host")) {
    const smtpPort = Number(get("smtp-port"));
    if (!Number.isInteger(smtpPort) || smtpPort < 1 || smtpPort > 65535) {
      throw new ConfigError(
        `SMTP port must be a number from 1 to 65535, got "${get("smtp-port")}"`,
      );
    }
    const security = get("smtp-security");
    if (security !== "tls" && security !== "starttls" && security !== "none") {
      throw new ConfigError(`SMTP security must be starttls, tls or none, got "${security}"`);
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
      throw new ConfigError(`${name} must be a whole number of at least 1, got "${get(name)}"`);
    }
    return value;
  };
  const agentHandshakes = {
    perAddress: handshakes("agent-handshakes-per-address"),
    total: handshakes("agent-handshakes"),
  };
  const publicUrl = normalizeUrl(get("public-url") || `http://${hostForUrl(host)}:${port}`);
  return {
    host,
    port,
    dataDir: get("data-dir"),
    downloadsDir: get("downloads-dir") || join(get("data-dir"), "downloads"),
    publicUrl,
    logLevel,
    trustProxy: ["true", "1", "yes"].includes(trust),
    smtp,
    agentHandshakes,
  };
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

function normalizeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`Public URL must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`Public URL must start with http:// or https://, got "${value}"`);
  }
  return url.origin + url.pathname.replace(/\/+$/, "");
}
