/** Which way of asking works on this machine right now: a dialog tool, the terminal, or none. */
import type { DialogTool } from "./prompter.ts";

/** What the dialog probe needs to know about the machine. */
export interface PromptProbe {
  os: string;
  env: (name: string) => string | undefined;
  which: (cmd: string) => Promise<boolean>;
}

/**
 * Everything {@link probePrompt} reads to tell whether someone can be asked; each read is live,
 * so probing again sees a display, a tool or the input that came or went.
 */
export interface PromptEnvironment extends PromptProbe {
  /** Standard input is a terminal, so someone sitting at it can type the answer. */
  stdinIsTerminal: () => boolean;
}

/** How the agent can ask the end user right now, or why it cannot. */
export type PromptAbility =
  | { kind: "dialog"; tool: DialogTool }
  | { kind: "terminal" }
  | { kind: "none"; reason: string };

/**
 * Which way of asking works now. "auto" uses a desktop dialog where one can be shown (zenity or
 * kdialog with a display on Linux, PowerShell in an interactive Windows session, osascript on
 * macOS), else the terminal if standard input is one. "terminal" uses standard input even when it
 * is not a terminal (the operator says someone answers there, e.g. through a wrapper), until it
 * ends. "dialog" uses dialogs only. `state` carries what only the agent learnt by trying: the
 * input ended, or a dialog tool could not reach a display (skipped until the given time).
 */
export async function probePrompt(
  mode: "auto" | "terminal" | "dialog",
  environment: PromptEnvironment,
  state: { inputEnded: boolean; unusableUntil?: ReadonlyMap<DialogTool, number>; now?: number } = {
    inputEnded: false,
  },
): Promise<PromptAbility> {
  const ended = "standard input has ended, so nobody can type an answer";
  if (mode === "terminal") {
    return state.inputEnded ? { kind: "none", reason: ended } : { kind: "terminal" };
  }
  const dialog = await findDialogTool(environment, mode === "dialog");
  const now = state.now ?? 0;
  if ("tool" in dialog) {
    const until = state.unusableUntil?.get(dialog.tool) ?? -Infinity;
    if (now >= until) return { kind: "dialog", tool: dialog.tool };
  }
  const why = "tool" in dialog ? `${dialog.tool} could not reach a display` : dialog.reason;
  if (mode === "dialog") return { kind: "none", reason: why };
  if (!environment.stdinIsTerminal()) {
    return { kind: "none", reason: `${why}, and standard input is not a terminal` };
  }
  if (state.inputEnded) return { kind: "none", reason: `${why}, and ${ended}` };
  return { kind: "terminal" };
}

/** The dialog tool to use, or why there is none. `forced`: the operator chose dialogs. */
async function findDialogTool(
  probe: PromptProbe,
  forced: boolean,
): Promise<{ tool: DialogTool } | { reason: string }> {
  const found = async (tool: DialogTool) =>
    await probe.which(tool) ? { tool } : { reason: `${tool} is not on the PATH` };
  if (probe.os === "windows") {
    // A service runs in session 0, where no one sees a window; an interactive session has a name.
    if (!forced && !probe.env("SESSIONNAME")) {
      return { reason: "the agent does not run in an interactive Windows session" };
    }
    return await found("powershell");
  }
  if (probe.os === "darwin") return await found("osascript");
  if (!probe.env("DISPLAY") && !probe.env("WAYLAND_DISPLAY")) {
    return {
      reason: "neither DISPLAY nor WAYLAND_DISPLAY is set, so there is no desktop to show it on",
    };
  }
  const kde = /kde/i.test(probe.env("XDG_CURRENT_DESKTOP") ?? "");
  const tools = kde ? ["kdialog", "zenity"] as const : ["zenity", "kdialog"] as const;
  for (const tool of tools) {
    if (await probe.which(tool)) return { tool };
  }
  return { reason: "neither zenity nor kdialog is installed" };
}

/** The real machine as {@link probePrompt} sees it. */
export function systemPromptEnvironment(): PromptEnvironment {
  return {
    ...systemProbe(),
    stdinIsTerminal: () => {
      try {
        return Deno.stdin.isTerminal();
      } catch {
        return false;
      }
    },
  };
}

function systemProbe(): PromptProbe {
  const env = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined;
    }
  };
  const os = Deno.build.os;
  return { os, env, which: (cmd) => onPath(cmd, os, env) };
}

/** Whether `cmd` is an executable file on PATH, looked up without running anything. */
async function onPath(
  cmd: string,
  os: string,
  env: (name: string) => string | undefined,
): Promise<boolean> {
  const windows = os === "windows";
  const dirs = (env("PATH") ?? env("Path") ?? "").split(windows ? ";" : ":").filter(Boolean);
  const extensions = windows ? (env("PATHEXT") ?? ".COM;.EXE;.BAT;.CMD").split(";") : [""];
  for (const dir of dirs) {
    for (const extension of extensions) {
      try {
        const info = await Deno.stat(`${dir}${windows ? "\\" : "/"}${cmd}${extension}`);
        if (info.isFile && (windows || ((info.mode ?? 0o111) & 0o111) !== 0)) return true;
      } catch {
        // Not there, or not allowed to look: keep searching.
      }
    }
  }
  return false;
}
