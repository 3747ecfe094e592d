import assert from "node:assert/strict";
import { renderToString } from "preact-render-to-string";
import { SESSION_NOT_AUTHORIZED } from "../core/mod.ts";
import { ErrorPage } from "./ErrorPage.tsx";

Deno.test("a refusal because of the state of things is not headed as something already done", () => {
  // E.g. a download link followed after the technician's authorization ended.
  const html = renderToString(<ErrorPage status={409} message={SESSION_NOT_AUTHORIZED} />);
  assert.match(html, /<h1>Not possible right now<\/h1>/);
  assert.match(html, /The support session is not authorized/);
  assert.doesNotMatch(html, /Already done/);
});
