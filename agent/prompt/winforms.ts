/**
 * The WinForms window the prompt and the indicator share: one PowerShell fragment that builds the
 * form, its text and its row of buttons, so both look and behave alike. Like every script here it
 * interpolates nothing; the words arrive in environment variables.
 */
import { encodePowerShell } from "../encoded_command.ts";

/**
 * Defines `New-AssentForm` (a top-most, auto-sized form with the text as a label that shows
 * "&" as it is; returns the form and its top-down layout), `Add-AssentControl` and
 * `Add-AssentButtons` (a row of buttons, each closing the form with its DialogResult).
 */
export const WINFORMS_LAYOUT = String.raw`
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = [Text.Encoding]::UTF8
Add-Type -AssemblyName System.Windows.Forms
Add-Type -AssemblyName System.Drawing
[System.Windows.Forms.Application]::EnableVisualStyles()
function New-AssentForm([string]$Title, [string]$Text, [int]$Width, [string]$Border) {
  $form = New-Object System.Windows.Forms.Form
  $form.Text = $Title
  $form.TopMost = $true
  $form.FormBorderStyle = $Border
  $form.MaximizeBox = $false
  $form.MinimizeBox = $false
  $form.AutoSize = $true
  $form.AutoSizeMode = 'GrowAndShrink'
  $form.Padding = New-Object System.Windows.Forms.Padding(16)
  $layout = New-Object System.Windows.Forms.FlowLayoutPanel
  $layout.FlowDirection = 'TopDown'
  $layout.AutoSize = $true
  $body = New-Object System.Windows.Forms.Label
  $body.Text = $Text
  $body.UseMnemonic = $false
  $body.AutoSize = $true
  $body.MaximumSize = New-Object System.Drawing.Size($Width, 0)
  $layout.Controls.Add($body)
  $form.Controls.Add($layout)
  return @{ form = $form; layout = $layout }
}
function Add-AssentControl($Layout, $Control) {
  $Layout.Controls.Add($Control)
  return $Control
}
function Add-AssentButtons($Layout, [object[]]$Buttons) {
  $row = New-Object System.Windows.Forms.FlowLayoutPanel
  $row.AutoSize = $true
  $made = @()
  foreach ($spec in $Buttons) {
    $button = New-Object System.Windows.Forms.Button
    $button.Text = $spec.text
    $button.UseMnemonic = $false
    $button.AutoSize = $true
    $button.DialogResult = $spec.result
    $row.Controls.Add($button)
    $made += $button
  }
  $Layout.Controls.Add($row)
  return $made
}
`;

const POWERSHELL_BASE = ["-NoProfile", "-NonInteractive", "-STA", "-EncodedCommand"];

/** The argv that runs `script` after {@link WINFORMS_LAYOUT}, encoded so no quoting can break. */
export function winformsArgs(script: string): string[] {
  return [...POWERSHELL_BASE, encodePowerShell(`${WINFORMS_LAYOUT}\n${script}`)];
}

/** The argv that runs `script` as it is (no window of ours, e.g. a balloon tip). */
export function powershellArgs(script: string): string[] {
  return [...POWERSHELL_BASE, encodePowerShell(script)];
}
