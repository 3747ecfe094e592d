/** Take Remote Control: a terminal (xterm.js) and the desktop (noVNC), relayed by the server. */
import { DEAUTHORIZE_SESSION, FILE_TRANSFER } from "../core/mod.ts";
import { PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";

/** What the remote-control page shows. */
export interface RemoteModel {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  asUser: string | null;
  view: "terminal" | "desktop";
  expiresAt: number;
  terminal: { available: boolean; reason: string | null };
  desktop: { available: boolean; reason: string | null };
  files: boolean;
}

/** The session bar shared by the remote-control and file pages. */
export function SessionBar(props: {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  asUser: string | null;
  expiresAt: number;
}) {
  return (
    <div class="session-bar">
      <div>
        <a href={`/devices/${props.deviceId}`}>{props.deviceName}</a>
        {props.asUser && <span class="muted">as {props.asUser}</span>}
        <span class="badge badge-ok">Authorized</span>
        <span class="muted">
          until <Time at={props.expiresAt} /> ·{" "}
          <strong data-deadline={props.expiresAt} data-format="clock">…</strong> left
        </span>
      </div>
      <PostForm action={`/sessions/${props.sessionId}/deauthorize`}>
        <button type="submit" class="danger">{DEAUTHORIZE_SESSION}</button>
      </PostForm>
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
      <SessionBar {...m} />
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
              <button type="button" id="terminal-copy" title="Copy the selection (Ctrl+Shift+C)">
                Copy
              </button>
              <button type="button" id="terminal-paste" title="Paste (Ctrl+Shift+V)">Paste</button>
            </div>
            <div
              id="terminal"
              class="terminal"
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
