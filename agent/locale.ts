/** The device's language, for what the end user reads at the device. */
import { type Locale, localeFromEnvironment } from "../i18n/mod.ts";

/**
 * The language the machine's locale settings ask for: `LC_ALL`, `LC_MESSAGES` or `LANG` where
 * they are set (POSIX), else on Windows the user's culture as the runtime reports it; English
 * when none names a language Assent speaks.
 */
export function deviceLocale(
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
  os: typeof Deno.build.os = Deno.build.os,
): Locale {
  return localeFromEnvironment({
    LC_ALL: env("LC_ALL"),
    LC_MESSAGES: env("LC_MESSAGES"),
    LANG: env("LANG"),
    // Windows sets no LANG; ICU reads the user's culture (de-DE) from the system instead.
    culture: os === "windows" ? Intl.DateTimeFormat().resolvedOptions().locale : undefined,
  }) ?? "en";
}
