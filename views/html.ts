/**
 * Markup written as text, for the few places a page repeats the same markup many times (the
 * device list's rows): rendering it as components costs a tree of nodes per row, text costs a
 * string. Every value put in is escaped exactly as the component renderer escapes it, unless it
 * is {@link Markup} made here, so the text reads byte for byte as the components would (but
 * for an empty attribute value, written `name=""` where the renderer writes `name`).
 */

/** Markup built by {@link markup}: inserted as it is into other markup. */
export class Markup {
  constructor(readonly text: string) {}
}

/** What a value in {@link markup} may be; null, undefined and false put nothing. */
export type HtmlValue = string | number | Markup | Markup[] | null | undefined | false;

/** Markup from a template: every interpolated text is escaped, markup goes in as it is. */
export function markup(strings: TemplateStringsArray, ...values: HtmlValue[]): Markup {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) {
    out += piece(values[i]!) + strings[i + 1]!;
  }
  return new Markup(out);
}

function piece(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) {
    let out = "";
    for (const m of value) out += m.text;
    return out;
  }
  return escapeHtml(String(value));
}

const ESCAPED = /["&<]/;

/** Escapes text for an element's content or a quoted attribute, as preact's renderer does. */
export function escapeHtml(text: string): string {
  if (!ESCAPED.test(text)) return text;
  return text.replace(/["&<]/g, (ch) => ch === '"' ? "&quot;" : ch === "&" ? "&amp;" : "&lt;");
}
