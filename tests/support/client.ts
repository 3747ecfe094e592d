/**
 * A small browser stand-in for `app.request()`: keeps cookies, finds the CSRF token in the
 * last page, follows nothing automatically (tests assert redirects themselves). Like a browser
 * that lands on a page after signing in, it loads one before posting with a token from before.
 * Like a browser closing its tab, `close()` drops every response body nobody read.
 */
import type { TestApp } from "./app.ts";

/** Form fields; arrays become repeated fields. */
export type Fields = Record<string, string | string[]>;

/** Sends one request: through `app.request()` or over a real socket. */
export type Transport = (path: string, init: RequestInit) => Promise<Response>;

/** A transport over real HTTP to a running server (redirects are not followed). */
export function httpTransport(baseUrl: string): Transport {
  return (path, init) => fetch(baseUrl + path, { ...init, redirect: "manual" });
}

/** A cookie-keeping client bound to one test app (or server) and one client address. */
export class Client implements AsyncDisposable {
  cookies = new Map<string, string>();
  /** Headers sent with every request, e.g. the browser's Accept-Language. */
  readonly headers = new Headers();
  csrf = "";
  lastBody = "";
  #send: Transport;
  /** The session cookie the token was read under (tokens are bound to the session). */
  #csrfSession: string | undefined;
  /** Responses whose bodies may still be open, for `close()`. */
  #responses: Response[] = [];

  constructor(t: TestApp | Transport, ip = "203.0.113.7") {
    this.#send = typeof t === "function"
      ? t
      : (path, init) =>
        Promise.resolve(t.app.request(path, init, { remoteAddr: { hostname: ip } }));
  }

  /** Sends a request with the client's cookies and records what comes back. */
  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(this.headers);
    new Headers(init.headers).forEach((value, name) => headers.set(name, value));
    if (this.cookies.size > 0) {
      headers.set("Cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const res = await this.#send(path, { ...init, headers });
    if (res.body) this.#responses.push(res);
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...rest] = pair!.split("=");
      const value = rest.join("=");
      if (/Max-Age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === "") {
        this.cookies.delete(name!.trim());
      } else this.cookies.set(name!.trim(), value);
    }
    // Tokens are bound to the session: one read under another session is no use any more.
    if (this.csrf && this.#csrfSession !== this.cookies.get("assent_session")) this.csrf = "";
    const type = res.headers.get("Content-Type") ?? "";
    if (type.startsWith("text/html")) {
      this.lastBody = await res.clone().text();
      const m = this.lastBody.match(/name="_csrf" value="([^"]+)"/) ??
        this.lastBody.match(/X-CSRF-Token&quot;:&quot;([^&]+)&quot;/);
      if (m) {
        this.csrf = m[1]!;
        this.#csrfSession = this.cookies.get("assent_session");
      }
    }
    return res;
  }

  /**
   * Cancels the body of every response the caller did not read (a redirect's, a page fetched
   * for its cookies or token, a live stream), so none outlives the test that made it. A body
   * the caller is still reading through its own reader is theirs to cancel.
   */
  async close(): Promise<void> {
    const open = this.#responses.splice(0).filter((r) => !r.bodyUsed && !r.body!.locked);
    await Promise.all(open.map((r) => r.body!.cancel()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** GET `path`. */
  get(path: string): Promise<Response> {
    return this.request(path);
  }

  /** POSTs a form with the CSRF token from the last page (unless `csrf: false`). */
  async post(path: string, fields: Fields = {}, options: { csrf?: string | false } = {}) {
    if (options.csrf === undefined && !this.csrf) {
      if (this.cookies.has("assent_session")) await this.get("/");
      if (!this.csrf) await this.get("/login");
    }
    const body = new URLSearchParams();
    const token = options.csrf === undefined ? this.csrf : options.csrf;
    if (token !== false) body.append("_csrf", token);
    for (const [k, v] of Object.entries(fields)) {
      for (const item of Array.isArray(v) ? v : [v]) body.append(k, item);
    }
    return await this.request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body,
    });
  }
}

/** Text of a response body with tags stripped and whitespace collapsed, for assertions. */
export async function textOf(res: Response): Promise<string> {
  const html = await res.text();
  return html.replace(/<script[\s\S]*?<\/script>/g, "").replace(/<[^>]+>/g, " ")
    .replace(/&quot;/g, '"').replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, "&")
    .replace(/\s+/g, " ").trim();
}
