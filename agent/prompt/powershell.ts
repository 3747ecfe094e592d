/** The Windows dialog back-end: a WinForms window and a balloon tip from fixed scripts. */
import { type DialogOptions, dialogPrompter } from "./dialog.ts";
import type { Prompter } from "./prompter.ts";
import { t } from "../../i18n/mod.ts";
import { buttonLabels, countdownText, formatPromptText } from "./text.ts";
import { encodePowerShell } from "../encoded_command.ts";

// Fixed scripts. They interpolate nothing; the words come from the environment.

/**
 * The prompt window, with a live countdown that closes it at the deadline. The words arrive in
 * ASSENT_PROMPT_TITLE, ASSENT_PROMPT_BODY and ASSENT_PROMPT_MS; it prints the answer.
 */
export const POWERSHELL_PROMPT = String.raw`
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
[System.Windows.Forms.Application]::EnableVisualStyles()
$state = @{ timedOut = $false }
$deadline = [DateTime]::UtcNow.AddMilliseconds([double]$env:ASSENT_PROMPT_MS)
$form = New-Object System.Windows.Forms.Form
$form.Text = $env:ASSENT_PROMPT_TITLE
$form.TopMost = $true
$form.StartPosition = 'CenterScreen'
$form.FormBorderStyle = 'FixedDialog'
$form.MaximizeBox = $false
$form.MinimizeBox = $false
$form.AutoSize = $true
$form.AutoSizeMode = 'GrowAndShrink'
$form.Padding = New-Object System.Windows.Forms.Padding(16)
$layout = New-Object System.Windows.Forms.FlowLayoutPanel
$layout.FlowDirection = 'TopDown'
$layout.AutoSize = $true
$body = New-Object System.Windows.Forms.Label
$body.Text = $env:ASSENT_PROMPT_BODY
$body.UseMnemonic = $false
$body.AutoSize = $true
$body.MaximumSize = New-Object System.Drawing.Size(480, 0)
$countdown = New-Object System.Windows.Forms.Label
$countdown.AutoSize = $true
$countdown.Margin = New-Object System.Windows.Forms.Padding(0, 12, 0, 12)
$buttons = New-Object System.Windows.Forms.FlowLayoutPanel
$buttons.AutoSize = $true
$accept = New-Object System.Windows.Forms.Button
$accept.Text = $env:ASSENT_PROMPT_ACCEPT
$accept.DialogResult = [System.Windows.Forms.DialogResult]::Yes
$decline = New-Object System.Windows.Forms.Button
$decline.Text = $env:ASSENT_PROMPT_DECLINE
$decline.DialogResult = [System.Windows.Forms.DialogResult]::No
$buttons.Controls.Add($accept)
$buttons.Controls.Add($decline)
$layout.Controls.Add($body)
$layout.Controls.Add($countdown)
$layout.Controls.Add($buttons)
$form.Controls.Add($layout)
$form.AcceptButton = $accept
$form.CancelButton = $decline
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
elseif ($result -eq [System.Windows.Forms.DialogResult]::Yes) { 'accept' }
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

const POWERSHELL_BASE = ["-NoProfile", "-NonInteractive", "-STA", "-EncodedCommand"];
const POWERSHELL_PROMPT_ARGS = [...POWERSHELL_BASE, encodePowerShell(POWERSHELL_PROMPT)];
const POWERSHELL_NOTIFY_ARGS = [...POWERSHELL_BASE, encodePowerShell(POWERSHELL_NOTIFY)];

/**
 * A WinForms window from a fixed, base64-encoded PowerShell script with a live countdown
 * that closes itself at the deadline; the words arrive in environment variables.
 */
export function powershellPrompter(options: DialogOptions = {}): Prompter {
  return dialogPrompter("powershell", options, {
    graceMs: 2000,
    command: (req, _seconds, remainingMs) => {
      const { title, body } = formatPromptText(req);
      const labels = buttonLabels(req.locale);
      return {
        cmd: "powershell",
        args: POWERSHELL_PROMPT_ARGS,
        env: {
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
    result: ({ code, stdout }) => {
      if (code !== 0) return "unavailable";
      const answer = stdout.trim();
      return answer === "accept" ? "accept" : answer === "decline" ? "decline" : null;
    },
    notification: (text) => ({
      cmd: "powershell",
      args: POWERSHELL_NOTIFY_ARGS,
      // A balloon tip holds at most 255 characters.
      env: { ASSENT_NOTIFY_TEXT: text.slice(0, 250) },
    }),
  });
}
