import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { escapeHtml, markup } from "./html.ts";

const TEXTS = ["", "plain", `a"b`, "a&b", "a<b", "a>b", "'", "&amp;", `<"&>`, "é — ✓", "\u0000x"];

Deno.test("markup escapes text in content and attributes exactly as the page renderer does", () => {
  // An empty attribute is the one difference: `title=""` here, `title` there; browsers read both
  // as the same empty value.
  assert.equal(markup`<p title="${""}"></p>`.text, `<p title=""></p>`);
  for (const text of TEXTS.filter((t) => t !== "")) {
    assert.equal(
      markup`<p title="${text}">${text}</p>`.text,
      renderToString(<p title={text}>{text}</p>),
      JSON.stringify(text),
    );
  }
});

Deno.test("markup puts markup in as it is and nothing for absent values", () => {
  const inner = markup`<b>${"<i>"}</b>`;
  assert.equal(
    markup`${inner}${[inner, inner]}${null}${undefined}${false}${0}`.text,
    "<b>&lt;i></b><b>&lt;i></b><b>&lt;i></b>0",
  );
  assert.equal(escapeHtml(`<script>"x"&`), "&lt;script>&quot;x&quot;&amp;");
});
