/** A real SMTP server on loopback (the smtp-server package) that keeps what it receives. */
// @ts-types="@types/smtp-server"
import { SMTPServer } from "smtp-server";
import { until, WAIT_MS } from "./wait.ts";

/** One received message, with its body decoded enough to read links. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The name the client greeted with (EHLO). */
  greeting: string;
  raw: string;
  /** The raw message with quoted-printable soft breaks and escapes undone. */
  decoded: string;
}

/** A running SMTP server. */
export interface TestSmtp extends AsyncDisposable {
  port: number;
  received: ReceivedMail[];
  /** Waits until `count` messages have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/** Undoes quoted-printable soft line breaks and =XX escapes (runs of them are UTF-8). */
export function decodeQuotedPrintable(text: string): string {
  return text.replace(/=\r?\n/g, "").replace(
    /(?:=[0-9A-F]{2})+/g,
    (run) => utf8(run.slice(1).split("=").map((h) => parseInt(h, 16))),
  );
}

/** The subject of a raw mail, with RFC 2047 encoded words decoded. */
export function subjectOf(mail: { raw: string }): string {
  const header = mail.raw.match(/^Subject: (.*(?:\r?\n[ \t].*)*)/m)?.[1] ?? "";
  return header.replace(/\?=\s+=\?/g, "?==?").replace(
    /=\?UTF-8\?([QB])\?([^?]*)\?=/gi,
    (_, kind: string, text: string) =>
      kind.toUpperCase() === "B"
        ? utf8([...atob(text)].map((c) => c.charCodeAt(0)))
        : decodeQuotedPrintable(text.replace(/_/g, " ")),
  ).trim();
}

function utf8(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** Starts an SMTP server on 127.0.0.1 (on `port`, or a free one). */
export async function startSmtp(port = 0): Promise<TestSmtp> {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (c: Uint8Array) => chunks.push(c));
      stream.on("end", () => {
        const raw = new TextDecoder().decode(concat(chunks));
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          greeting: session.hostNameAppearsAs,
          raw,
          decoded: decodeQuotedPrintable(raw),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const address = server.server.address() as { port: number };
  let closed = false;
  const close = () => {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return {
    port: address.port,
    received,
    async waitFor(count, timeoutMs = WAIT_MS) {
      await until(`${count} mails`, () => received.length >= count, {
        timeoutMs,
        detail: () => `only ${received.length} arrived`,
      });
      return received;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** The Check Request link in a received mail. */
export function approvalLink(mail: ReceivedMail): string {
  const m = mail.decoded.match(/https?:\/\/[^\s"<>]+\/approve\/[A-Za-z0-9_-]{43}/);
  if (!m) throw new Error(`no approval link in mail:\n${mail.decoded}`);
  return m[0];
}
