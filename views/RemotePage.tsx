/** Take Remote Control: a terminal (xterm.js) and the desktop (noVNC), relayed by the server. */
import type { SessionBarModel } from "../presenters/device_views.ts";
import {
  DEAUTHORIZE_SESSION,
  FILE_TRANSFER,
  REQUEST_AUTHORIZATION,
  UNABLE_TO_CONNECT,
} from "../core/mod.ts";
import { PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";

/** What the remote-control page shows. */
export interface RemoteModel {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  view: "terminal" | "desktop";
  bar: SessionBarModel;
  terminal: { available: boolean; reason: string | null };
  desktop: { available: boolean; reason: string | null };
  files: boolean;
}

/** "3:54:40", "4:05", "0:00": how the countdown reads before the script takes over. */
export function clockText(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const mm = String(m).padStart(h > 0 ? 2 : 1, "0");
  return `${h > 0 ? `${h}:` : ""}${mm}:${String(seconds % 60).padStart(2, "0")}`;
}

/** The bar's content, replaced in place when the session changes. */
export function SessionBarContent(props: { model: SessionBarModel }) {
  const m = props.model;
  const s = m.state;
  return (
    <div class="session-bar" data-state={s.kind}>
      <div>
        <a href={`/devices/${m.deviceId}`}>{m.deviceName}</a>
        {m.asUser && <span class="muted">as {m.asUser}</span>}
        {s.kind === "authorized"
          ? (
            <>
              <span class="badge badge-ok">Authorized</span>
              <span class="muted">
                until <Time at={s.expiresAt} /> ·{" "}
                {/* Counted from the server's time left, so a wrong clock here cannot stretch it. */}
                <strong role="timer" data-left-ms={s.leftMs} data-format="clock">
                  {clockText(s.leftMs)}
                </strong>{" "}
                left
              </span>
              {!s.deviceOnline && <span class="badge badge-bad">{UNABLE_TO_CONNECT}</span>}
            </>
          )
          : (
            <>
              <span class="badge badge-bad">Not authorized</span>
              <strong class="bar-heading">{s.heading}</strong>
              <span class="bar-reason">{s.reason}</span>
              {m.receiptHref && <a href={m.receiptHref}>Consent receipt</a>}
            </>
          )}
      </div>
      {s.kind === "authorized"
        ? (
          <PostForm action={`/sessions/${m.sessionId}/deauthorize`}>
            <button type="submit" class="danger">{DEAUTHORIZE_SESSION}</button>
          </PostForm>
        )
        : (
          <a
            class="button primary"
            href={`/devices/${m.deviceId}`}
            data-action="request_authorization"
          >
            {REQUEST_AUTHORIZATION} on the device page
          </a>
        )}
    </div>
  );
}

/**
 * The bar as a live region: the session's server-sent events re-fetch it, and so does a page
 * script that hears first that its channel ended (`session-ended`).
 */
export function SessionBar(props: { model: SessionBarModel }) {
  const id = props.model.sessionId;
  return (
    <div hx-ext="sse" sse-connect={`/sessions/${id}/live`}>
      <Live
        id="session-bar"
        url={`/sessions/${id}/bar`}
        event="session"
        also="session-ended"
        announce
      >
        <SessionBarContent model={props.model} />
      </Live>
    </div>
  );
}

/** The remote-control page. */
export function RemotePage(props: { model: RemoteModel }) {
  const m = props.model;
  const tab = (view: "terminal" | "desktop", label: string, available: boolean) => (
    <a
      href={`/sessions/${m.sessionId}/remote?view=${view}`}
      class={`tab${m.view === view ? " current" : ""}${available ? "" : " unavailable"}`}
      aria-current={m.view === view ? "page" : undefined}
    >
      {label}
    </a>
  );
  const current = m.view === "terminal" ? m.terminal : m.desktop;
  return (
    <Layout
      title={`Remote control · ${m.deviceName}`}
      wide
      styles={m.view === "terminal" ? ["vendor/xterm/xterm.css"] : []}
      modules={["remote.js"]}
    >
      <SessionBar model={m.bar} />
      <nav class="tabs" aria-label="Remote control">
        {tab("terminal", "Terminal", m.terminal.available)}
        {tab("desktop", "Desktop", m.desktop.available)}
        {m.files && <a class="tab" href={`/sessions/${m.sessionId}/files`}>{FILE_TRANSFER}</a>}
      </nav>
      {!current.available
        ? <p class="alert alert-warn" role="status">{current.reason}</p>
        : m.view === "terminal"
        ? (
          <section class="remote">
            <div class="remote-toolbar">
              <span id="remote-status" role="status" aria-live="polite">Connecting…</span>
              <span class="spacer"></span>
              <span class="hint" id="terminal-keys">
                Tab completes in the shell; Shift+Tab leaves the terminal.
              </span>
              <button type="button" id="terminal-copy" title="Copy the selection (Ctrl+Shift+C)">
                Copy
              </button>
              <button type="button" id="terminal-paste" title="Paste (Ctrl+Shift+V)">Paste</button>
            </div>
            <div
              id="terminal"
              class="terminal-frame"
              data-ws={`/sessions/${m.sessionId}/channels/terminal`}
            >
            </div>
          </section>
        )
        : (
          <section class="remote">
            <div class="remote-toolbar">
              <span id="remote-status" role="status" aria-live="polite">Connecting…</span>
              <span class="spacer"></span>
              <label class="check">
                <input type="checkbox" id="desktop-view-only" /> View only
              </label>
              <button type="button" id="desktop-cad">Send Ctrl+Alt+Del</button>
            </div>
            <form id="desktop-password" class="inline" hidden>
              <label for="vnc-password">The desktop asks for its VNC password</label>
              <input id="vnc-password" type="password" autocomplete="off" />
              <button type="submit">Send</button>
            </form>
            <div
              id="desktop"
              class="desktop"
              data-ws={`/sessions/${m.sessionId}/channels/desktop`}
            >
            </div>
          </section>
        )}
    </Layout>
  );
}

/** Take Remote Control is not possible now; `reason` is allowedActions' words. */
export function RemoteUnavailablePage(
  props: { deviceId: string; deviceName: string; title: string; reason: string },
) {
  return (
    <Layout title={props.title} narrow>
      <p class="crumbs">
        <a href={`/devices/${props.deviceId}`}>{props.deviceName}</a>
      </p>
      <h1>{props.title}</h1>
      <p class="alert alert-warn" role="status">{props.reason}</p>
      <p>
        <a href={`/devices/${props.deviceId}`}>Back to the device</a>
      </p>
    </Layout>
  );
}
