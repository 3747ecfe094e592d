/** The Windows dialog back-end: a WinForms window and a balloon tip from fixed scripts. */
import { type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter, PromptRequest, PromptResult } from "./prompter.ts";
import { t } from "../../i18n/mod.ts";
import {
  buttonLabels,
  capabilityText,
  countdownText,
  dialogChoices,
  dialogGrant,
  formatPromptText,
  windowKey,
  windowText,
} from "./text.ts";
import { powershellArgs, winformsArgs } from "./winforms.ts";

// Fixed scripts. They interpolate nothing; the words come from the environment.

/**
 * The prompt window, on the shared layout: the text, a check box per capability asked (all
 * ticked) when ASSENT_PROMPT_CAPABILITIES lists them one a line, radio buttons for the windows
 * when ASSENT_PROMPT_WINDOWS does (the longest picked, as on the terminal), a live countdown that
 * closes it at the deadline, Accept and Decline. It prints "accept" with what was picked
 * ("capabilities=1,3", "window=2", by number), "decline" or "timeout".
 */
export const POWERSHELL_PROMPT = String.raw`
$state = @{ timedOut = $false }
$deadline = [DateTime]::UtcNow.AddMilliseconds([double]$env:ASSENT_PROMPT_MS)
$made = New-AssentForm $env:ASSENT_PROMPT_TITLE $env:ASSENT_PROMPT_BODY 480 'FixedDialog'
$form = $made.form
$layout = $made.layout
$form.StartPosition = 'CenterScreen'
$checks = @()
if ($env:ASSENT_PROMPT_CAPABILITIES) {
  foreach ($label in $env:ASSENT_PROMPT_CAPABILITIES.Split([char]10)) {
    $box = New-Object System.Windows.Forms.CheckBox
    $box.Text = $label
    $box.UseMnemonic = $false
    $box.AutoSize = $true
    $box.Checked = $true
    $checks += (Add-AssentControl $layout $box)
  }
}
$radios = @()
if ($env:ASSENT_PROMPT_WINDOWS) {
  $group = New-Object System.Windows.Forms.GroupBox
  $group.Text = $env:ASSENT_PROMPT_WINDOW_LABEL
  $group.AutoSize = $true
  $inner = New-Object System.Windows.Forms.FlowLayoutPanel
  $inner.FlowDirection = 'TopDown'
  $inner.AutoSize = $true
  $inner.Dock = 'Fill'
  foreach ($label in $env:ASSENT_PROMPT_WINDOWS.Split([char]10)) {
    $radio = New-Object System.Windows.Forms.RadioButton
    $radio.Text = $label
    $radio.UseMnemonic = $false
    $radio.AutoSize = $true
    $inner.Controls.Add($radio)
    $radios += $radio
  }
  $radios[$radios.Count - 1].Checked = $true
  $group.Controls.Add($inner)
  [void](Add-AssentControl $layout $group)
}
$countdown = New-Object System.Windows.Forms.Label
$countdown.AutoSize = $true
$countdown.Margin = New-Object System.Windows.Forms.Padding(0, 12, 0, 12)
[void](Add-AssentControl $layout $countdown)
$buttons = Add-AssentButtons $layout @(
  @{ text = $env:ASSENT_PROMPT_ACCEPT; result = [System.Windows.Forms.DialogResult]::Yes },
  @{ text = $env:ASSENT_PROMPT_DECLINE; result = [System.Windows.Forms.DialogResult]::No }
)
$form.AcceptButton = $buttons[0]
$form.CancelButton = $buttons[1]
$tick = {
  $left = [Math]::Ceiling(($deadline - [DateTime]::UtcNow).TotalSeconds)
  if ($left -le 0) { $state.timedOut = $true; $form.Close() }
  elseif ($left -eq 1) { $countdown.Text = $env:ASSENT_PROMPT_ONE_LEFT }
  else { $countdown.Text = $env:ASSENT_PROMPT_MANY_LEFT.Replace('{count}', [string]$left) }
}
$timer = New-Object System.Windows.Forms.Timer
$timer.Interval = 250
$timer.Add_Tick($tick)
$form.Add_Shown({ $form.Activate() })
& $tick
$timer.Start()
$result = $form.ShowDialog()
$timer.Stop()
if ($state.timedOut) { 'timeout' }
elseif ($result -eq [System.Windows.Forms.DialogResult]::Yes) {
  'accept'
  if ($checks.Count -gt 0) {
    $ticked = @()
    for ($i = 0; $i -lt $checks.Count; $i++) { if ($checks[$i].Checked) { $ticked += ($i + 1) } }
    'capabilities=' + ($ticked -join ',')
  }
  for ($i = 0; $i -lt $radios.Count; $i++) { if ($radios[$i].Checked) { 'window=' + ($i + 1) } }
}
else { 'decline' }
`;

/** The balloon tip; its text arrives in ASSENT_NOTIFY_TEXT. */
export const POWERSHELL_NOTIFY = String.raw`
$ErrorActionPreference = 'Stop'
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
$icon = New-Object System.Windows.Forms.NotifyIcon
$icon.Icon = [System.Drawing.SystemIcons]::Information
$icon.BalloonTipTitle = 'Assent'
$icon.BalloonTipText = $env:ASSENT_NOTIFY_TEXT
$icon.Visible = $true
$icon.ShowBalloonTip(10000)
Start-Sleep -Seconds 6
$icon.Dispose()
`;

const POWERSHELL_PROMPT_ARGS = winformsArgs(POWERSHELL_PROMPT);
const POWERSHELL_NOTIFY_ARGS = powershellArgs(POWERSHELL_NOTIFY);

/** What the prompt window printed, as an answer. */
export function powershellAnswer(stdout: string, req: PromptRequest): PromptResult {
  const lines = stdout.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
  if (lines[0] === "decline") return "decline";
  if (lines[0] !== "accept") return null;
  const field = (name: string) =>
    lines.find((line) => line.startsWith(`${name}=`))?.slice(name.length + 1);
  const steps = dialogChoices(req);
  if (!steps.capabilities && !steps.window) return "accept";
  const capabilities = field("capabilities");
  const ticked = steps.capabilities
    ? (capabilities ?? "").split(",").filter(Boolean).map((n) => Number(n) - 1)
    : undefined;
  const picked = steps.window ? (req.windows ?? [])[Number(field("window")) - 1] : undefined;
  return dialogGrant(req, ticked, picked === undefined ? undefined : windowKey(picked));
}

/**
 * A WinForms window from a fixed, base64-encoded PowerShell script with a live countdown
 * that closes itself at the deadline; the words arrive in environment variables.
 */
export function powershellPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("powershell", options, {
    graceMs: 2000,
    command: (req, _seconds, remainingMs) => {
      const { title, body } = formatPromptText(req);
      const locale = req.locale ?? "en";
      const labels = buttonLabels(locale);
      const steps = dialogChoices(req);
      return {
        cmd: "powershell",
        args: POWERSHELL_PROMPT_ARGS,
        env: {
          ...(steps.capabilities
            ? {
              ASSENT_PROMPT_CAPABILITIES: (req.capabilities ?? []).map((c) =>
                capabilityText(c, locale)
              ).join("\n"),
            }
            : {}),
          ...(steps.window
            ? {
              ASSENT_PROMPT_WINDOWS: (req.windows ?? []).map((m) => windowText(m, locale))
                .join("\n"),
              ASSENT_PROMPT_WINDOW_LABEL: t(locale, "prompt.column_window"),
            }
            : {}),
          ASSENT_PROMPT_TITLE: title,
          ASSENT_PROMPT_BODY: body,
          ASSENT_PROMPT_MS: String(Math.round(remainingMs)),
          ASSENT_PROMPT_ACCEPT: labels.accept,
          ASSENT_PROMPT_DECLINE: labels.decline,
          ASSENT_PROMPT_ONE_LEFT: countdownText(1, req.locale),
          // The script puts the number in; the words around it are the device's language.
          ASSENT_PROMPT_MANY_LEFT: t(req.locale ?? "en", "prompt.seconds_left", { count: 2 })
            .replace("2", "{count}"),
        },
      };
    },
    result: ({ code, stdout }, req) => code !== 0 ? "unavailable" : powershellAnswer(stdout, req),
    notification: (text) => ({
      cmd: "powershell",
      args: POWERSHELL_NOTIFY_ARGS,
      // A balloon tip holds at most 255 characters.
      env: { ASSENT_NOTIFY_TEXT: text.slice(0, 250) },
    }),
  });
}
