/**
 * The Session Confirmation prompt (R4) and plain notifications, shown at the device: in a
 * terminal, or in a desktop dialog (zenity, kdialog, a PowerShell WinForms window,
 * osascript). Text from the server travels only as one argv element or one environment
 * variable, never inside a command line or a script, so a technician name like
 * `$(reboot)` is shown, not run.
 */
export { type AdaptivePrompter, adaptivePrompter, withFallback } from "./prompt/adaptive.ts";
export {
  probePrompt,
  type PromptAbility,
  type PromptEnvironment,
  type PromptProbe,
  systemPromptEnvironment,
} from "./prompt/choose.ts";
export {
  type DialogCommand,
  type DialogOptions,
  type DialogOutcome,
  type DialogSpawn,
  DialogUnavailableError,
  spawnDialog,
} from "./prompt/dialog.ts";
export { kdialogPrompter } from "./prompt/kdialog.ts";
export { osascriptPrompter } from "./prompt/osascript.ts";
export { powershellPrompter } from "./prompt/powershell.ts";
export type {
  DialogTool,
  Prompter,
  PrompterKind,
  PromptRequest,
  PromptResult,
} from "./prompt/prompter.ts";
export { type TerminalIo, type TerminalPrompter, terminalPrompter } from "./prompt/terminal.ts";
export { countdownText, formatPromptText, parseAnswer, plainText } from "./prompt/text.ts";
export { zenityPrompter } from "./prompt/zenity.ts";
export {
  agentIndicator,
  dialogIndicator,
  type IndicatorView,
  type SessionIndicator,
  sessionIndicator,
  terminalIndicator,
} from "./prompt/indicator.ts";
