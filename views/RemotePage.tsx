/** Take Remote Control: a terminal (xterm.js) and the desktop (noVNC), relayed by the server. */
import type { SessionBarModel } from "../presenters/device_views.ts";
import {
  DEAUTHORIZE_SESSION,
  FILE_TRANSFER,
  REQUEST_AUTHORIZATION,
  TERMINAL_RECORDED_NOTICE,
  UNABLE_TO_CONNECT,
} from "../core/mod.ts";
import { type FilesModel, FilesPanel } from "./FilesPage.tsx";
import { PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";

/** The key combinations the desktop toolbar sends; the page script knows their key codes. */
export const KEY_COMBOS = [
  { id: "ctrl-alt-del", label: "Ctrl+Alt+Del" },
  { id: "alt-tab", label: "Alt+Tab" },
  { id: "super", label: "Win / Super" },
  { id: "ctrl-esc", label: "Ctrl+Esc" },
  { id: "print", label: "PrintScreen" },
  { id: "alt-f4", label: "Alt+F4" },
  { id: "ctrl-shift-esc", label: "Ctrl+Shift+Esc" },
] as const;

/** A panel of the session workspace. */
export type WorkspaceView = "terminal" | "desktop" | "files";

/** What the session workspace shows: terminal, desktop and files side by side. */
export interface WorkspaceModel {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  /** The panel on show first. */
  view: WorkspaceView;
  bar: SessionBarModel;
  /** `recorded`: the department records terminals, so the technician is told before typing. */
  terminal: { available: boolean; reason: string | null; recorded?: boolean };
  desktop: {
    available: boolean;
    reason: string | null;
    /** The end user allowed watching the screen, not controlling it: the server drops input. */
    viewOnly?: boolean;
  };
  /** The files panel, or null when File Transfer is not possible. */
  files: FilesModel | null;
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

/**
 * The session workspace. Every panel stays in the page; the tabs only show and hide them, so a
 * running shell or desktop keeps its channel while the technician looks at the files. Each
 * channel opens the first time its panel is shown. Without scripts the tabs are plain links.
 */
export function WorkspacePage(props: { model: WorkspaceModel }) {
  const m = props.model;
  const href = (view: WorkspaceView) =>
    view === "files"
      ? `/sessions/${m.sessionId}/files`
      : `/sessions/${m.sessionId}/remote?view=${view}`;
  const tab = (view: WorkspaceView, label: string, available: boolean) => (
    <a
      href={href(view)}
      id={`tab-${view}`}
      data-panel={view}
      class={`tab${m.view === view ? " current" : ""}${available ? "" : " unavailable"}`}
      aria-current={m.view === view ? "page" : undefined}
      aria-controls={`panel-${view}`}
    >
      {label}
    </a>
  );
  const title = m.view === "files" ? FILE_TRANSFER : "Remote control";
  return (
    <Layout
      title={`${title} · ${m.deviceName}`}
      wide
      styles={m.terminal.available ? ["vendor/xterm/xterm.css"] : []}
      modules={m.files ? ["remote.js", "files.js"] : ["remote.js"]}
    >
      <SessionBar model={m.bar} />
      <nav class="tabs" aria-label="Session workspace">
        {tab("terminal", "Terminal", m.terminal.available)}
        {tab("desktop", "Desktop", m.desktop.available)}
        {m.files && tab("files", FILE_TRANSFER, true)}
      </nav>
      <section
        id="panel-terminal"
        class="panel remote"
        aria-labelledby="tab-terminal"
        hidden={m.view !== "terminal"}
      >
        {m.terminal.available
          ? (
            <>
              {m.terminal.recorded && (
                <p class="alert alert-warn" id="terminal-recorded">
                  {TERMINAL_RECORDED_NOTICE}{" "}
                  The end user was told so, and the recording is kept on the server.
                </p>
              )}
              <div class="remote-toolbar">
                <span id="remote-status" role="status" aria-live="polite">Connecting…</span>
                <span class="spacer"></span>
                <span class="hint" id="terminal-keys">
                  Tab completes in the shell; Shift+Tab leaves the terminal.
                </span>
                <button
                  type="button"
                  id="terminal-copy"
                  title="Copy the selection (Ctrl+Shift+C)"
                >
                  Copy
                </button>
                <button type="button" id="terminal-paste" title="Paste (Ctrl+Shift+V)">
                  Paste
                </button>
              </div>
              <div
                id="terminal"
                class="terminal-frame"
                data-ws={`/sessions/${m.sessionId}/channels/terminal`}
              >
              </div>
            </>
          )
          : <p class="alert alert-warn" role="status">{m.terminal.reason}</p>}
      </section>
      <section
        id="panel-desktop"
        class="panel remote"
        aria-labelledby="tab-desktop"
        hidden={m.view !== "desktop"}
      >
        {m.desktop.available
          ? (
            <>
              <div class="remote-toolbar">
                <span id="desktop-status" role="status" aria-live="polite">Connecting…</span>
                <span class="spacer"></span>
                {m.desktop.viewOnly
                  ? (
                    <label class="check">
                      <input type="checkbox" id="desktop-view-only" checked disabled />{" "}
                      View only: the end user allowed watching, not control
                    </label>
                  )
                  : (
                    <label class="check">
                      <input type="checkbox" id="desktop-view-only" /> View only
                    </label>
                  )}
                <label for="desktop-scale" class="sr">Scaling</label>
                <select id="desktop-scale">
                  <option value="fit">Fit to window</option>
                  <option value="100">100 %</option>
                </select>
                <label for="desktop-keys" class="sr">Key combination</label>
                <select id="desktop-keys">
                  {KEY_COMBOS.map((k) => <option key={k.id} value={k.id}>{k.label}</option>)}
                </select>
                <button type="button" id="desktop-send-keys">Send keys</button>
                <button type="button" id="desktop-fullscreen">Full screen</button>
              </div>
              <form id="desktop-clipboard" class="inline clipboard-box">
                <label for="desktop-clipboard-text">Clipboard text for the device</label>
                <input
                  id="desktop-clipboard-text"
                  type="text"
                  autocomplete="off"
                  maxlength={65536}
                />
                <button type="submit">Send to clipboard</button>
              </form>
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
            </>
          )
          : <p class="alert alert-warn" role="status">{m.desktop.reason}</p>}
      </section>
      {m.files && (
        <section
          id="panel-files"
          class="panel"
          aria-labelledby="tab-files"
          hidden={m.view !== "files"}
        >
          <FilesPanel model={m.files} />
        </section>
      )}
    </Layout>
  );
}

/** Take Remote Control is not possible now; `reason` is allowedActions' words. */
export function RemoteUnavailablePage(
  props: {
    deviceId: string;
    deviceName: string;
    title: string;
    reason: string;
    /** What the technician came for; it opens once a request made from the device page is authorized. */
    then: WorkspaceView;
  },
) {
  return (
    <Layout title={props.title} narrow>
      <p class="crumbs">
        <a href={`/devices/${props.deviceId}`}>{props.deviceName}</a>
      </p>
      <h1>{props.title}</h1>
      <p class="alert alert-warn" role="status">{props.reason}</p>
      <p>
        <a href={`/devices/${props.deviceId}?then=${props.then}`}>Back to the device</a>
      </p>
    </Layout>
  );
}
