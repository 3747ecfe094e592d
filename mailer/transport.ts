/**
 * Where mail goes: an SMTP server through nodemailer, or — with no SMTP configured — nowhere
 * but the outbox and a line in the log, so a one-box install works out of the box and admins can
 * see what would have been sent (without its decision links).
 */
// @ts-types="@types/nodemailer"
import type { Transporter } from "nodemailer";
import type { Logger } from "../lib/log.ts";

/** One message to deliver. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** A delivery failure; `permanent` ones are not retried. */
export class DeliveryError extends Error {
  override name = "DeliveryError";
  constructor(message: string, readonly permanent: boolean) {
    super(message);
  }
}

/** Delivers mail. */
export interface MailTransport {
  /** "smtp" delivers; "log" only records. */
  readonly kind: "smtp" | "log";
  readonly from: string;
  send(message: MailMessage): Promise<void>;
}

/** SMTP settings (flags and environment variables, see lib/config.ts). */
export interface SmtpConfig {
  host: string;
  port: number;
  /** tls: TLS from the start (465); starttls: upgrade required (587); none: plain (tests, relays on localhost). */
  security: "tls" | "starttls" | "none";
  user?: string;
  password?: string;
  from: string;
  /** Accept self-signed certificates (internal relays); off by default. */
  allowInvalidCertificate?: boolean;
  /** Connection and greeting timeout in ms. */
  timeoutMs?: number;
  /** The name this server greets the mail server with (see `greetingName`). */
  greeting?: string;
}

/**
 * The name to greet a mail server with (EHLO): the host name of the server's public URL, an
 * address literal for an IP, or `[127.0.0.1]` for a name that is not fully qualified. Given
 * explicitly so the SMTP client never asks the OS for its host name, which the server has no
 * permission to read.
 */
export function greetingName(publicUrl: string): string {
  const host = new URL(publicUrl).hostname;
  if (host.startsWith("[")) return `[IPv6:${host.slice(1, -1)}]`;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) return `[${host}]`;
  return host.includes(".") ? host : "[127.0.0.1]";
}

/** A transport that delivers through an SMTP server. */
export function smtpTransport(config: SmtpConfig): MailTransport {
  // nodemailer is loaded on the first mail, not at start: it is the heaviest module the server
  // has, and many installs send mail rarely or never.
  let transporter: Promise<Transporter> | undefined;
  const connect = async () => {
    // @ts-types="@types/nodemailer"
    const { default: nodemailer } = await import("nodemailer");
    return nodemailer.createTransport({
      host: config.host,
      port: config.port,
      name: config.greeting ?? "[127.0.0.1]",
      secure: config.security === "tls",
      requireTLS: config.security === "starttls",
      ignoreTLS: config.security === "none",
      auth: config.user ? { user: config.user, pass: config.password ?? "" } : undefined,
      tls: { rejectUnauthorized: !config.allowInvalidCertificate },
      connectionTimeout: config.timeoutMs ?? 10_000,
      greetingTimeout: config.timeoutMs ?? 10_000,
      socketTimeout: (config.timeoutMs ?? 10_000) * 3,
    });
  };
  return {
    kind: "smtp",
    from: config.from,
    async send(message) {
      try {
        await (await (transporter ??= connect())).sendMail({ from: config.from, ...message });
      } catch (err) {
        const e = err as { responseCode?: number; message?: string; code?: string };
        // 5xx replies (bad address, relay refused, auth failed) will not get better by waiting.
        const permanent = typeof e.responseCode === "number" && e.responseCode >= 500 ||
          e.code === "EAUTH" || e.code === "EENVELOPE";
        throw new DeliveryError(e.message ?? String(err), permanent);
      }
    },
  };
}

// The log says that a mail was recorded, to whom and about what, never its body: a body can carry
// a decision link, and whoever reads the server log must not be able to use it.
/** A transport that only records mail (the default without SMTP settings). */
export function logTransport(log: Logger, from = "Assent <assent@localhost>"): MailTransport {
  return {
    kind: "log",
    from,
    send(message) {
      log.info("mail recorded (no SMTP server configured)", {
        to: message.to,
        subject: message.subject,
      });
      return Promise.resolve();
    },
  };
}
