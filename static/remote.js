// The session workspace in the browser: xterm.js for the terminal, noVNC for the desktop, and
// the files panel. Both channels speak to /sessions/:id/channels/* over a WebSocket the server
// relays to the agent. The tabs only show and hide panels, so a channel once open stays open
// while the technician works in another panel.

// xterm.js injects <style> elements; the page's CSP admits them only with this page's nonce.
const nonce = document.querySelector('meta[name="style-nonce"]')?.content;
if (nonce) {
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (tag, options) {
    const el = create.call(this, tag, options);
    if (String(tag).toLowerCase() === "style") el.nonce = nonce;
    return el;
  };
}

const sayIn = (id) => (text, kind) => {
  const status = document.getElementById(id);
  if (!status) return;
  status.textContent = text;
  status.className = kind ?? "";
};
const wsUrl = (path) =>
  `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
// The server ended the channel (deauthorized, expired, the app quit, the device went offline):
// the session bar refreshes now rather than waiting for its event stream.
const ENDED = 4000;
const sessionEnded = () =>
  document.getElementById("session-bar")?.dispatchEvent(
    new CustomEvent("session-ended"),
  );

const starters = {
  terminal: () => {
    const el = document.getElementById("terminal");
    if (el) startTerminal(el);
  },
  desktop: () => {
    const el = document.getElementById("desktop");
    if (el) startDesktop(el);
  },
};
const started = new Set();

/** Shows one panel, hides the others, and opens its channel the first time. */
function show(view) {
  for (const tab of document.querySelectorAll(".tabs [data-panel]")) {
    const on = tab.dataset.panel === view;
    tab.classList.toggle("current", on);
    if (on) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
    const panel = document.getElementById(`panel-${tab.dataset.panel}`);
    if (panel) panel.hidden = !on;
  }
  if (!started.has(view)) {
    started.add(view);
    starters[view]?.();
  }
  document.dispatchEvent(new CustomEvent("workspace-show", { detail: { view } }));
}

for (const tab of document.querySelectorAll(".tabs [data-panel]")) {
  tab.addEventListener("click", (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    // The address follows the panel, so a reload comes back to it (without a new history entry).
    history.replaceState(history.state, "", tab.href);
    show(tab.dataset.panel);
  });
}
const first = document.querySelector(".tabs [data-panel][aria-current]")?.dataset.panel;
if (first) show(first);

async function startTerminal(el) {
  const { Terminal } = await import("./vendor/xterm/xterm.mjs");
  const { FitAddon } = await import("./vendor/xterm/addon-fit.mjs");
  const term = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace',
    fontSize: 14,
    scrollback: 5000,
  });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  const encoder = new TextEncoder();
  const say = sayIn("remote-status");
  const ws = new WebSocket(wsUrl(`${el.dataset.ws}?cols=${term.cols}&rows=${term.rows}`));
  ws.binaryType = "arraybuffer";
  ws.onmessage = (e) => {
    if (typeof e.data !== "string") return term.write(new Uint8Array(e.data));
    const m = JSON.parse(e.data);
    if (m.type === "opened") !el.dataset.user && say("Connected", "ok");
    else if (m.type === "error") say(m.message, "bad");
    else if (m.type === "event" && m.event.type === "info") {
      say(m.event.note ?? `Connected · shell runs as ${m.event.user}`, "ok");
      el.dataset.user = m.event.user;
    }
  };
  ws.onclose = (e) => {
    const reason = e.reason || "The terminal is closed";
    say(reason, e.code === 1000 ? "" : "bad");
    term.options.disableStdin = true;
    // The reason is the server's text; control characters in it must not drive the terminal.
    // deno-lint-ignore no-control-regex
    const plain = reason.replace(/[\x00-\x1f\x7f]/g, " ");
    term.write(`\r\n\x1b[1m[${plain}]\x1b[0m\r\n`);
    el.classList.add("ended");
    el.dataset.ended = reason;
    if (e.code === ENDED) sessionEnded();
  };
  term.onData((data) => ws.readyState === 1 && ws.send(encoder.encode(data)));
  term.onResize(({ cols, rows }) => {
    if (ws.readyState === 1) ws.send(JSON.stringify({ type: "resize", cols, rows }));
  });
  // A hidden panel has no size; fitting it would shrink the shell to nothing.
  new ResizeObserver(() => el.offsetParent && fit.fit()).observe(el);
  // Copy and paste: Ctrl+Shift+C / Ctrl+Shift+V and the toolbar buttons.
  const copy = () => term.hasSelection() && navigator.clipboard?.writeText(term.getSelection());
  const paste = async () => term.paste(await navigator.clipboard.readText());
  term.attachCustomKeyEventHandler((event) => {
    // Tab completes in the shell; Shift+Tab is left to the browser, so the keyboard can always
    // leave the terminal (the toolbar says so).
    if (event.key === "Tab" && event.shiftKey && !event.ctrlKey && !event.altKey) return false;
    if (event.type !== "keydown" || !event.ctrlKey || !event.shiftKey) return true;
    if (event.code === "KeyC") return copy(), false;
    if (event.code === "KeyV") return paste(), false;
    return true;
  });
  document.getElementById("terminal-copy")?.addEventListener("click", copy);
  document.getElementById("terminal-paste")?.addEventListener(
    "click",
    () => paste().catch(() => {}),
  );
  term.textarea?.setAttribute("aria-describedby", "terminal-keys");
  term.focus();
  globalThis.assentTerminal = term;
}

// X11 keysyms and key codes of the toolbar's key combinations, pressed in order, released in
// reverse.
const CTRL = [0xffe3, "ControlLeft"];
const ALT = [0xffe9, "AltLeft"];
const SHIFT = [0xffe1, "ShiftLeft"];
const SUPER = [0xffeb, "MetaLeft"];
const ESC = [0xff1b, "Escape"];
const KEYS = {
  "ctrl-alt-del": [CTRL, ALT, [0xffff, "Delete"]],
  "alt-tab": [ALT, [0xff09, "Tab"]],
  "super": [SUPER],
  "ctrl-esc": [CTRL, ESC],
  "print": [[0xff61, "PrintScreen"]],
  "alt-f4": [ALT, [0xffc1, "F4"]],
  "ctrl-shift-esc": [CTRL, SHIFT, ESC],
};

async function startDesktop(el) {
  const { default: RFB } = await import("./vendor/novnc/core/rfb.js");
  const say = sayIn("desktop-status");
  const viewOnly = document.getElementById("desktop-view-only");
  // The server keeps view only (it drops input itself), so it hears of the mode at the start
  // and at every switch; the page follows it too, so the pointer does not pretend otherwise.
  const startViewOnly = viewOnly?.checked ?? false;
  const rfb = new RFB(el, wsUrl(el.dataset.ws + (startViewOnly ? "?viewOnly=1" : "")));
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.viewOnly = startViewOnly;
  const csrf = JSON.parse(document.body.getAttribute("hx-headers") ?? "{}")["X-CSRF-Token"];
  viewOnly?.addEventListener("change", async () => {
    const wanted = viewOnly.checked;
    rfb.viewOnly = wanted;
    viewOnly.disabled = true;
    try {
      const res = await fetch(`${el.dataset.ws}/mode`, {
        method: "POST",
        headers: { "X-CSRF-Token": csrf, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ mode: wanted ? "view_only" : "control" }),
      });
      if (!res.ok) throw new Error(await res.text());
      say(
        wanted ? "View only: your keyboard and mouse do not reach the device" : "In control",
        "ok",
      );
    } catch {
      // Not confirmed by the server: show what the server holds to, never more control.
      say("The switch did not reach the server; reload the page", "bad");
    } finally {
      viewOnly.disabled = false;
    }
  });
  const scale = document.getElementById("desktop-scale");
  scale?.addEventListener("change", () => {
    // Fit shrinks the screen into the panel; 100 % shows it pixel for pixel, scrolled.
    rfb.scaleViewport = scale.value === "fit";
    el.classList.toggle("actual-size", scale.value !== "fit");
  });
  document.getElementById("desktop-send-keys")?.addEventListener("click", () => {
    const combo = KEYS[document.getElementById("desktop-keys").value];
    if (!combo) return;
    for (const [keysym, code] of combo) rfb.sendKey(keysym, code, true);
    for (const [keysym, code] of [...combo].reverse()) rfb.sendKey(keysym, code, false);
    say(`Sent ${document.getElementById("desktop-keys").selectedOptions[0].textContent}`, "ok");
    rfb.focus();
  });
  document.getElementById("desktop-fullscreen")?.addEventListener("click", () => {
    const panel = document.getElementById("panel-desktop");
    if (document.fullscreenElement) document.exitFullscreen();
    else panel?.requestFullscreen?.().catch(() => say("The browser refused full screen", "bad"));
  });
  document.getElementById("desktop-clipboard")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = document.getElementById("desktop-clipboard-text");
    rfb.clipboardPasteFrom(input.value);
    say("Sent to the device's clipboard", "ok");
  });
  rfb.addEventListener("connect", () => {
    say("Connected to the desktop", "ok");
    el.dataset.state = "connected";
  });
  rfb.addEventListener("disconnect", (e) => {
    say(e.detail.clean ? "The desktop session ended" : "The desktop connection was lost", "bad");
    el.dataset.state = "disconnected";
    sessionEnded();
  });
  const form = document.getElementById("desktop-password");
  rfb.addEventListener("credentialsrequired", () => {
    form.hidden = false;
    document.getElementById("vnc-password").focus();
  });
  form?.addEventListener("submit", (e) => {
    e.preventDefault();
    rfb.sendCredentials({ password: document.getElementById("vnc-password").value });
    form.hidden = true;
  });
  rfb.addEventListener(
    "securityfailure",
    (e) => say(`The desktop refused the login: ${e.detail.reason ?? ""}`, "bad"),
  );
  globalThis.assentDesktop = rfb;
}
