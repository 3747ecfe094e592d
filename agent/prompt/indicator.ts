/**
 * The session-active indicator: while a technician has something open on this device, the person
 * at it sees who, from which organization, what is open and the time left, with End session.
 * Back-ends: the terminal line (always), and a window of the dialog tool the prompter uses
 * (zenity, kdialog, a PowerShell WinForms window, osascript). Like the prompt, server text
 * travels only as one argv element or one environment variable, never inside a script.
 */
import { type DialogCommand, type DialogOutcome, type DialogSpawn, spawnDialog } from "./dialog.ts";
import type { DialogTool } from "./prompter.ts";
import { APP, escapeHtml, plainText } from "./text.ts";
import { powershellArgs, winformsArgs } from "./winforms.ts";
import { type Clock, systemClock, type TimerHandle } from "../../lib/clock.ts";
import { type CatalogueKey, type Locale, t } from "../../i18n/mod.ts";

/** What is open, as the indicator names it. */
export type IndicatorItem = "screen" | "terminal" | "files";

/** What the indicator shows; `expiresAt` is on the local clock. */
export interface IndicatorState {
  sessionId: string;
  attemptId: string;
  technician: string;
  organization: string;
  open: readonly IndicatorItem[];
  /** A terminal open now is recorded on the server. */
  recorded?: boolean;
  expiresAt: number;
}

/** One way of showing the indicator. */
export interface IndicatorView {
  /** Shows the indicator, or updates the one shown; `onEnd` runs when End session is pressed. */
  show(state: IndicatorState, onEnd: () => void): void;
  /** Takes the indicator away (nothing is open any more). */
  hide(): void;
  /** Shows a notice (the session ended) or a receipt, as the end user's own record. */
  tell(text: string): Promise<void>;
}

export const INDICATOR_TITLE = "Remote session active";
/** The word typed on the terminal line to end the session. */
export const END_KEY = "e";
export const END_BUTTON = "End session";

const ITEM_KEYS: Record<IndicatorItem, CatalogueKey> = {
  screen: "indicator.item.screen",
  terminal: "indicator.item.terminal",
  files: "indicator.item.files",
};

/** "3 h 59 min", "12 min", "less than a minute" (in `locale`). */
export function timeLeftText(ms: number, locale: Locale = "en"): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return t(locale, "indicator.less_than_minute");
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return hours === 0 ? `${rest} min` : rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}

/** "17:05" on the device's own clock. */
export function clockTime(at: number): string {
  const date = new Date(at);
  return `${String(date.getHours()).padStart(2, "0")}:${
    String(date.getMinutes()).padStart(2, "0")
  }`;
}

/** The indicator's words, the same for every back-end, in `locale`. */
export function indicatorText(
  state: IndicatorState,
  now: number,
  locale: Locale = "en",
): { title: string; body: string } {
  const say = (key: CatalogueKey, params?: Record<string, string>) => t(locale, key, params);
  const technician = plainText(state.technician, 200) || say("indicator.a_technician");
  const organization = plainText(state.organization, 200);
  const open = state.open.map((item) => say(ITEM_KEYS[item]));
  const what = open.length === 0 ? say("indicator.nothing_yet") : open.join(", ");
  const named = `${technician}${organization ? ` (${organization})` : ""}`;
  return {
    title: say("indicator.title"),
    body: [
      say("indicator.connected", { technician: named }),
      say("indicator.open_now", { what }),
      ...(state.recorded ? [say("indicator.recorded")] : []),
      say("indicator.ends_in", {
        left: timeLeftText(state.expiresAt - now, locale),
        time: clockTime(state.expiresAt),
      }),
    ].join("\n"),
  };
}

/** The one line the terminal shows for the indicator, naming the key that ends the session. */
export function indicatorLine(state: IndicatorState, now: number, locale: Locale = "en"): string {
  const { title, body } = indicatorText(state, now, locale);
  return `[${APP}] ${title}: ${body.replaceAll("\n", " ")} ` +
    t(locale, "indicator.end_key", { key: END_KEY });
}

/** Where the terminal indicator writes and hears the end key. */
export interface IndicatorTerminal {
  output: (text: string) => void;
  /** Lines typed while no prompt is open; null stops listening. */
  onIdleLine?: (listener: ((line: string) => void) | null) => void;
  now?: () => number;
  /** The device's language; English when absent. */
  locale?: Locale;
}

/** The terminal line: printed whenever what is open changes; `e` + Enter ends the session. */
export function terminalIndicator(terminal: IndicatorTerminal): IndicatorView {
  const now = terminal.now ?? Date.now;
  const locale = terminal.locale ?? "en";
  let shown = "";
  return {
    show(state, onEnd) {
      const key = `${state.sessionId} ${state.open.join()} ${state.technician} ${
        timeLeftText(state.expiresAt - now())
      }`;
      if (key !== shown) terminal.output(`${indicatorLine(state, now(), locale)}\n`);
      shown = key;
      terminal.onIdleLine?.((line) => {
        if (line.trim().toLowerCase() !== END_KEY) return;
        terminal.output(`[${APP}] ${t(locale, "indicator.ending")}\n`);
        onEnd();
      });
    },
    hide() {
      shown = "";
      terminal.onIdleLine?.(null);
    },
    tell(text) {
      for (const line of plainText(text, 8000, true).split("\n")) {
        terminal.output(line ? `[${APP}] ${line}\n` : "\n");
      }
      return Promise.resolve();
    },
  };
}

/** How a dialog tool shows the indicator and the notices. */
export interface IndicatorDialogSpec {
  command: (title: string, body: string, locale?: Locale) => DialogCommand;
  /** True when the person pressed End session. */
  ended: (outcome: DialogOutcome) => boolean;
  notice: (title: string, body: string) => DialogCommand;
}

/**
 * The PowerShell indicator: a small always-on-top window with End session, on the layout the
 * prompt uses (its button's words arrive in ASSENT_INDICATOR_END).
 */
export const POWERSHELL_INDICATOR = String.raw`
$made = New-AssentForm $env:ASSENT_INDICATOR_TITLE $env:ASSENT_INDICATOR_BODY 360 'FixedToolWindow'
$form = $made.form
$form.ShowInTaskbar = $true
$form.StartPosition = 'Manual'
$form.Padding = New-Object System.Windows.Forms.Padding(12)
[void](Add-AssentButtons $made.layout @(
  @{ text = $env:ASSENT_INDICATOR_END; result = [System.Windows.Forms.DialogResult]::Abort }
))
$form.Add_Shown({
  $area = [System.Windows.Forms.Screen]::PrimaryScreen.WorkingArea
  $form.Location = New-Object System.Drawing.Point(($area.Right - $form.Width - 16), ($area.Bottom - $form.Height - 16))
})
$result = $form.ShowDialog()
if ($result -eq [System.Windows.Forms.DialogResult]::Abort) { 'end' } else { 'closed' }
`;

/** The PowerShell notice: a plain message box; its words arrive in the environment. */
export const POWERSHELL_INDICATOR_NOTICE = String.raw`
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Windows.Forms
[void][System.Windows.Forms.MessageBox]::Show($env:ASSENT_INDICATOR_BODY, $env:ASSENT_INDICATOR_TITLE)
`;

/**
 * `display dialog` with the one End session button; argv: title, body, the button's words.
 * Prints "end" or "timeout".
 */
export const OSASCRIPT_INDICATOR = [
  "on run argv",
  "set reply to display dialog (item 2 of argv) with title (item 1 of argv) " +
  "buttons {(item 3 of argv)} giving up after 600",
  'if gave up of reply then return "timeout"',
  'return "end"',
  "end run",
];

/** `display dialog` with OK only, for notices; argv: title, body. */
export const OSASCRIPT_INDICATOR_NOTICE = [
  "on run argv",
  'display dialog (item 2 of argv) with title (item 1 of argv) buttons {"OK"} default button "OK"',
  "end run",
];

/** How each dialog tool shows the indicator. */
export const INDICATOR_DIALOGS: Readonly<Record<DialogTool, IndicatorDialogSpec>> = {
  // `--opt=value` keeps a value that starts with "-" from being read as an option.
  zenity: {
    command: (title, body, locale = "en") => ({
      cmd: "zenity",
      args: [
        "--info",
        `--title=${title}`,
        `--text=${body}`,
        "--no-markup",
        `--ok-label=${t(locale, "indicator.end_button")}`,
        "--width=380",
      ],
    }),
    ended: ({ code }) => code === 0,
    notice: (title, body) => ({
      cmd: "zenity",
      args: ["--info", `--title=${title}`, `--text=${body}`, "--no-markup", "--width=420"],
    }),
  },
  kdialog: {
    // A yes/no box, so closing the window is never taken for End session.
    command: (title, body, locale = "en") => ({
      cmd: "kdialog",
      args: [
        "--title",
        title,
        "--yes-label",
        t(locale, "indicator.end_button"),
        "--no-label",
        t(locale, "indicator.not_now"),
        "--yesno",
        `<qt>${escapeHtml(body).replaceAll("\n", "<br>")}</qt>`,
      ],
    }),
    ended: ({ code }) => code === 0,
    notice: (title, body) => ({
      cmd: "kdialog",
      args: ["--title", title, "--msgbox", `<qt>${escapeHtml(body).replaceAll("\n", "<br>")}</qt>`],
    }),
  },
  powershell: {
    command: (title, body, locale = "en") => ({
      cmd: "powershell",
      args: winformsArgs(POWERSHELL_INDICATOR),
      env: {
        ASSENT_INDICATOR_TITLE: title,
        ASSENT_INDICATOR_BODY: body,
        ASSENT_INDICATOR_END: t(locale, "indicator.end_button"),
      },
    }),
    ended: ({ code, stdout }) => code === 0 && stdout.trim() === "end",
    notice: (title, body) => ({
      cmd: "powershell",
      args: powershellArgs(POWERSHELL_INDICATOR_NOTICE),
      env: { ASSENT_INDICATOR_TITLE: title, ASSENT_INDICATOR_BODY: body },
    }),
  },
  osascript: {
    // The fixed title is the first argument, so no server text can pose as an option.
    command: (title, body, locale = "en") => ({
      cmd: "osascript",
      args: [
        ...OSASCRIPT_INDICATOR.flatMap((line) => ["-e", line]),
        title,
        body,
        t(locale, "indicator.end_button"),
      ],
    }),
    ended: ({ code, stdout }) => code === 0 && stdout.trim() === "end",
    notice: (title, body) => ({
      cmd: "osascript",
      args: [...OSASCRIPT_INDICATOR_NOTICE.flatMap((line) => ["-e", line]), title, body],
    }),
  },
};

/** How long a dialog indicator closed without End session stays away while access goes on. */
export const REAPPEAR_MS = 10_000;

/**
 * A dialog window for the indicator. Each change of what is open replaces the window; one closed
 * without End session comes back after {@link REAPPEAR_MS}, because it must stay in sight while
 * the technician has access. Notices go through `fallback` too, so the terminal keeps a record.
 */
export function dialogIndicator(
  tool: DialogTool,
  options: {
    spawn?: DialogSpawn;
    now?: () => number;
    /** Also told every notice and receipt (the terminal line or the log). */
    fallback?: IndicatorView;
    /** Told when the tool cannot be run, so the caller can switch to the terminal. */
    failed?: (err: unknown) => void;
    /** The device's language; English when absent. */
    locale?: Locale;
  } = {},
): IndicatorView {
  const spec = INDICATOR_DIALOGS[tool];
  const spawn = options.spawn ?? spawnDialog;
  const now = options.now ?? Date.now;
  let current: { kill: AbortController; key: string } | null = null;
  let latest: { state: IndicatorState; onEnd: () => void } | null = null;
  let again: ReturnType<typeof setTimeout> | undefined;

  const run = () => {
    clearTimeout(again);
    const shown = latest;
    if (!shown) return;
    const { title, body } = indicatorText(shown.state, now(), options.locale);
    const kill = new AbortController();
    current = { kill, key: keyOf(shown.state, now()) };
    spawn(spec.command(title, body, options.locale), kill.signal).then((outcome) => {
      if (kill.signal.aborted) return;
      current = null;
      if (spec.ended(outcome)) return shown.onEnd();
      again = setTimeout(run, REAPPEAR_MS);
    }).catch((err) => {
      current = null;
      options.failed?.(err);
    });
  };
  return {
    show(state, onEnd) {
      latest = { state, onEnd };
      // The terminal line stays too: its end key works whatever happens to the window.
      options.fallback?.show(state, onEnd);
      if (current?.key === keyOf(state, now())) return;
      current?.kill.abort();
      run();
    },
    hide() {
      latest = null;
      options.fallback?.hide();
      clearTimeout(again);
      current?.kill.abort();
      current = null;
    },
    async tell(text) {
      await options.fallback?.tell(text);
      const kill = new AbortController();
      // A notice nobody closes must not keep a process forever.
      const timer = setTimeout(() => kill.abort(), 10 * 60_000);
      try {
        await spawn(spec.notice(APP, plainText(text, 8000, true)), kill.signal);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What makes the window shown differ: a change of any of it replaces the window. */
function keyOf(state: IndicatorState, now: number): string {
  return `${state.sessionId} ${state.open.join()} ${state.technician} ${state.organization} ${
    timeLeftText(state.expiresAt - now)
  }`;
}

/** What the agent hears from the server about one session's indicator. */
export interface IndicatorStatus {
  sessionId: string;
  attemptId: string;
  technician: string;
  organization: string;
  open: readonly IndicatorItem[];
  recorded?: boolean;
  remainingMs: number;
}

/** The agent's indicator across connections: what is open per session, and the notices. */
export interface SessionIndicator {
  /** What is open changed; `end` sends End session for that session's attempt. */
  status(status: IndicatorStatus, end: (sessionId: string, attemptId: string) => void): void;
  /** The authorization of `sessionId` ended: the indicator goes and, once, a notice says so. */
  ended(sessionId: string, reason: string): Promise<void>;
  /** Shows a receipt as the end user's record, once per `receiptId`. */
  receipt(text: string, receiptId?: string): Promise<void>;
  /** The connection is gone, and every channel with it. */
  hideAll(): void;
}

/**
 * Keeps one indicator for whatever is open now (the newest session with something open) on the
 * view `view()` picks at that moment, so a dialog that stopped working gives way to the terminal.
 */
export function sessionIndicator(options: {
  view: () => IndicatorView;
  now?: () => number;
  /** Times the refresh of the time left; default the system clock (read through `now`). */
  clock?: Clock;
  log?: (line: string) => void;
  /** The device's language for the end notice; English when absent. */
  locale?: Locale;
}): SessionIndicator {
  const clock: Clock = options.clock ??
    { now: options.now ?? (() => Date.now()), at: (at, fn) => systemClock.at(at, fn) };
  const now = () => clock.now();
  let tick: TimerHandle | null = null;
  const states = new Map<string, { state: IndicatorState; end: () => void }>();
  /** Sessions the indicator was shown for, so the end notice comes once and only for them. */
  const known = new Set<string>();
  /** Receipts shown already, so one sent again after a reconnect is not shown twice. */
  const receipts = new Set<string>();
  let shownOn: IndicatorView | null = null;

  const refresh = () => {
    tick?.cancel();
    tick = null;
    const showing = [...states.values()].filter((s) => s.state.open.length > 0).at(-1);
    const view = options.view();
    if (shownOn && shownOn !== view) shownOn.hide();
    if (!showing) {
      shownOn?.hide();
      shownOn = null;
      return;
    }
    shownOn = view;
    view.show(showing.state, showing.end);
    // The time left is shown in whole minutes: shown again when that number changes, so it
    // never stays stale for more than a minute.
    const left = showing.state.expiresAt - now();
    const minutes = Math.floor(left / 60_000);
    if (minutes >= 1) tick = clock.at(showing.state.expiresAt - minutes * 60_000 + 1, refresh);
  };
  return {
    status(status, end) {
      let ending = false;
      const state: IndicatorState = {
        sessionId: status.sessionId,
        attemptId: status.attemptId,
        technician: status.technician,
        organization: status.organization,
        open: status.open,
        recorded: status.recorded === true,
        expiresAt: now() + status.remainingMs,
      };
      if (state.open.length > 0) known.add(state.sessionId);
      states.delete(state.sessionId);
      states.set(state.sessionId, {
        state,
        end: () => {
          if (ending) return;
          ending = true;
          options.log?.(`End session pressed for session ${state.sessionId}`);
          end(state.sessionId, state.attemptId);
        },
      });
      if (state.open.length === 0) states.delete(state.sessionId);
      refresh();
    },
    async ended(sessionId, reason) {
      states.delete(sessionId);
      refresh();
      if (!known.delete(sessionId)) return;
      const over = t(options.locale ?? "en", "indicator.session_over");
      await options.view().tell(`${over} ${reason}`.trim());
    },
    async receipt(text, receiptId) {
      if (receiptId !== undefined) {
        if (receipts.has(receiptId)) return;
        receipts.add(receiptId);
      }
      await options.view().tell(text);
    },
    hideAll() {
      states.clear();
      refresh();
    },
  };
}

/** The first words of the notice at the end of a session. */
export const SESSION_OVER = "The remote support session has ended.";

const ENDED_KEYS: Record<string, CatalogueKey> = {
  ended_at_device: "indicator.ended.ended_at_device",
  expired: "indicator.ended.expired",
  deauthorized: "indicator.ended.deauthorized",
  access_revoked: "indicator.ended.access_revoked",
  session_closed: "indicator.ended.session_closed",
  app_closed: "indicator.ended.app_closed",
};

/** How the session ended, in the end user's words and language, from the revoke's reason code. */
export function endedText(reason: string, locale: Locale = "en"): string {
  const key = Object.hasOwn(ENDED_KEYS, reason) ? ENDED_KEYS[reason] : undefined;
  return key ? t(locale, key) : "";
}

/**
 * The agent's indicator: a window of the dialog tool the prompter uses now, else the terminal
 * line, whose end key is read from the terminal prompter once it exists. A dialog tool that
 * cannot be run gives way to the terminal line for the rest of the run.
 */
export function agentIndicator(
  prompter: { readonly ability: { kind: string; tool?: DialogTool } },
  held: { terminal: { onIdleLine(listener: ((line: string) => void) | null): void } | null },
  output: (text: string) => void,
  log: (line: string) => void,
  locale: Locale = "en",
): SessionIndicator {
  const line = terminalIndicator({
    output,
    onIdleLine: (listener) => held.terminal?.onIdleLine(listener),
    locale,
  });
  const dialogs = new Map<DialogTool, IndicatorView>();
  const broken = new Set<DialogTool>();
  return sessionIndicator({
    log,
    locale,
    view: () => {
      const tool = prompter.ability.kind === "dialog" ? prompter.ability.tool : undefined;
      if (!tool || broken.has(tool)) return line;
      let view = dialogs.get(tool);
      if (!view) {
        view = dialogIndicator(tool, {
          locale,
          fallback: line,
          failed: (err) => {
            log(`the indicator window cannot be shown (${err}); using the terminal line`);
            broken.add(tool);
          },
        });
        dialogs.set(tool, view);
      }
      return view;
    },
  });
}
