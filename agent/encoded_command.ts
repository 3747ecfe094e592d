/** PowerShell scripts run from argv, where no quoting layer can alter them. */

/** The value of PowerShell's `-EncodedCommand`: base64 of the script's UTF-16LE code units. */
export function encodePowerShell(script: string): string {
  let binary = "";
  for (let i = 0; i < script.length; i++) {
    const unit = script.charCodeAt(i);
    binary += String.fromCharCode(unit & 0xff, unit >> 8);
  }
  return btoa(binary);
}
