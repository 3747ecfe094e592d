/**
 * Attribute values written into precompiled markup (`"jsx": "precompile"` in deno.json): the
 * static parts of every element are strings written once at compile time, and each dynamic
 * attribute goes through preact's `jsxAttr`, which writes a few values differently from the
 * component renderer. This hook writes them as the renderer does, so a page reads the same
 * whichever way it was built: `aria-*` and `data-*` booleans as "true" / "false" (a bare
 * `aria-hidden` or a dropped `aria-expanded="false"` would change what assistive technology
 * hears), and an empty value as the bare name. Elements whose value is not an attribute
 * (`textarea`, `select`, `option`) are not precompiled at all (see deno.json).
 */
import { options } from "preact";
import { escapeHtml } from "./html.ts";

// The renderer's set, beside aria-* and data-*, of attributes whose booleans are written out.
const ENUMERATED = new Set(["draggable", "spellcheck"]);

type AttrHook = (name: string, value: unknown) => string | undefined;

const hooked = options as typeof options & { attr?: AttrHook };

hooked.attr = (name, value) => {
  if (name === "key" || name === "ref") return undefined;
  if (value === "") return name;
  if (typeof value !== "boolean") return undefined;
  if (name[4] === "-" || ENUMERATED.has(name)) return `${name}="${escapeHtml(String(value))}"`;
  return undefined;
};
