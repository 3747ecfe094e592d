/**
 * The message catalogue for what end users and approvers read: the device prompt, the support
 * app, the join and download pages, the approval page and its emails. Keys are stable codes;
 * English is the source, and the product documents' texts stay verbatim in it.
 */
import { type CatalogueKey, EN, type Message } from "./en.ts";
import { DE } from "./de.ts";
import { ES } from "./es.ts";
import { FR } from "./fr.ts";

export type { CatalogueKey, Message };
export { EN };

/** The languages Assent speaks, English first (the fallback). */
export const LOCALES = ["en", "de", "fr", "es"] as const;

/** One of `LOCALES`. */
export type Locale = typeof LOCALES[number];

/** Each language's name in that language, for the settings choice. */
export const LOCALE_NAMES: Readonly<Record<Locale, string>> = Object.freeze({
  en: "English",
  de: "Deutsch",
  fr: "Français",
  es: "Español",
});

/** A catalogue: every key of the English one, with the same placeholders. */
export type Catalogue = Readonly<Record<CatalogueKey, Message>>;

/** Every catalogue by locale. */
export const CATALOGUES: Readonly<Record<Locale, Catalogue>> = Object.freeze({
  en: EN,
  de: DE,
  fr: FR,
  es: ES,
});

/** Values for a message's `{placeholders}`; `count` also picks the plural form. */
export type Params = Readonly<Record<string, string | number>>;

/** True for one of `LOCALES`. */
export function isLocale(value: unknown): value is Locale {
  return (LOCALES as readonly unknown[]).includes(value);
}

/** The message `key` in `locale`, with `{name}` placeholders filled from `params`. */
export function t(locale: Locale, key: CatalogueKey, params: Params = {}): string {
  return fill(pick(locale, key, params), params);
}

/**
 * The message `key` split around its placeholders, so a page can put markup (a `<strong>`, a
 * `<time>`) in their place: strings for the text, `{ name }` for each placeholder.
 */
export function parts(
  locale: Locale,
  key: CatalogueKey,
  params: Params = {},
): Array<string | { name: string }> {
  return pick(locale, key, params).split(/(\{[a-zA-Z]+\})/).filter((p) => p !== "").map((p) =>
    /^\{[a-zA-Z]+\}$/.test(p) ? { name: p.slice(1, -1) } : p
  );
}

/** The placeholders of a message, sorted, for comparing catalogues. */
export function placeholders(message: Message): string[] {
  const texts = typeof message === "string" ? [message] : Object.values(message);
  const names = texts.flatMap((text) => [...text.matchAll(/\{([a-zA-Z]+)\}/g)].map((m) => m[1]!));
  return [...new Set(names)].sort();
}

/**
 * The best of `LOCALES` for an `Accept-Language` header, by quality then order; `fallback`
 * when it names none of them.
 */
export function negotiateLocale(
  header: string | null | undefined,
  fallback: Locale = "en",
): Locale {
  if (!header) return fallback;
  const ranked = header.split(",").slice(0, 20).map((entry, index) => {
    const [tag = "", ...options] = entry.trim().split(";");
    const q = options.map((o) => o.trim()).find((o) => o.startsWith("q="));
    const quality = q ? Number(q.slice(2)) : 1;
    return {
      tag: tag.trim().toLowerCase(),
      quality: Number.isFinite(quality) ? quality : 0,
      index,
    };
  }).filter((e) => e.quality > 0).sort((a, b) => b.quality - a.quality || a.index - b.index);
  for (const { tag } of ranked) {
    if (tag === "*") return fallback;
    const language = tag.split("-")[0];
    if (isLocale(language)) return language;
  }
  return fallback;
}

/**
 * The locale a POSIX environment asks for (`LC_ALL`, then `LC_MESSAGES`, then `LANG`, as
 * `setlocale` reads them) or a Windows culture name (`de-DE`); null when it names none of ours.
 */
export function localeFromEnvironment(
  env: { LC_ALL?: string; LC_MESSAGES?: string; LANG?: string; culture?: string },
): Locale | null {
  const chosen = [env.LC_ALL, env.LC_MESSAGES, env.LANG, env.culture].find((v) => v && v.trim());
  if (!chosen) return null;
  const language = chosen.trim().toLowerCase().split(/[_.@-]/)[0];
  return isLocale(language) ? language : null;
}

function pick(locale: Locale, key: CatalogueKey, params: Params): string {
  const message = CATALOGUES[locale][key] ?? EN[key];
  if (typeof message === "string") return message;
  const count = Number(params.count ?? 0);
  const form = new Intl.PluralRules(locale).select(count);
  return form === "one" ? message.one : message.other;
}

function fill(text: string, params: Params): string {
  return text.replace(
    /\{([a-zA-Z]+)\}/g,
    (whole, name: string) => name in params ? String(params[name]) : whole,
  );
}
