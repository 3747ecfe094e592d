/** The message catalogue in pages: the reader's locale, plain texts, and texts around markup. */
import type { ComponentChildren } from "preact";
import { type CatalogueKey, type Locale, type Params, parts, t } from "../i18n/mod.ts";
import { usePage } from "./context.ts";

/** A translator bound to the reader's locale. */
export interface Translator {
  locale: Locale;
  /** The text of `key` with its placeholders filled. */
  (key: CatalogueKey, params?: Params): string;
}

/** The translator for the page being rendered. */
export function useT(): Translator {
  const locale = usePage().locale;
  const say = (key: CatalogueKey, params?: Params) => t(locale, key, params);
  return Object.assign(say, { locale });
}

/**
 * The text of `k` with markup in place of its placeholders: `<Say k="approval.asks"
 * technician={<strong>…</strong>} />`. A placeholder without a value shows as its name.
 */
export function Say(
  props:
    & { k: CatalogueKey; count?: number; countAs?: ComponentChildren }
    & Record<
      string,
      ComponentChildren
    >,
) {
  const { k, count, countAs, ...values } = props;
  // `count` picks the plural form; `countAs` shows it with markup (a live countdown).
  if (count !== undefined) values.count = countAs ?? count;
  const locale = usePage().locale;
  const params: Params = count === undefined ? {} : { count };
  return (
    <>
      {parts(locale, k as CatalogueKey, params).map((part) =>
        typeof part === "string" ? part : part.name in values ? values[part.name] : `{${part.name}}`
      )}
    </>
  );
}
