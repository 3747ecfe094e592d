import assert from "node:assert/strict";
import { KeptDocuments } from "./render.tsx";

Deno.test("a kept document is rendered again only when its key or one of its objects changes", () => {
  const kept = new KeptDocuments(2);
  let renders = 0;
  const render = (text: string) => () => {
    renders++;
    return text;
  };
  const a = { id: "a" }, b = { id: "b" };
  assert.equal(kept.get("k", [a, b], render("one")), "one");
  assert.equal(kept.get("k", [a, b], render("two")), "one", "the same key and the same objects");
  assert.equal(renders, 1);
  // An object made anew, even with the same content, is a change.
  assert.equal(kept.get("k", [a, { id: "b" }], render("three")), "three");
  assert.equal(kept.get("k", [a], render("four")), "four", "fewer objects");
  assert.equal(kept.get("other", [a], render("five")), "five", "another key");
  assert.equal(kept.get("k", [a], render("six")), "four", "each key keeps its own");
  assert.equal(renders, 4);
  // Past its size it starts over.
  assert.equal(kept.get("third", [], render("seven")), "seven");
  assert.equal(kept.get("k", [a], render("eight")), "eight");
});
