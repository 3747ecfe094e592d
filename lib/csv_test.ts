import assert from "node:assert/strict";
import { csvField, csvLine, csvStream } from "./csv.ts";

Deno.test("csvField() quotes separators, quotes and line breaks and leaves plain text alone", () => {
  assert.equal(csvField("plain"), "plain");
  assert.equal(csvField(null), "");
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
});

Deno.test("csvField() keeps spreadsheets from running a cell as a formula", () => {
  for (const start of ["=", "+", "-", "@", "\t", "\r"]) {
    assert.ok(csvField(`${start}HYPERLINK("x")`).replace(/^"/, "").startsWith("'"), start);
  }
});

Deno.test("csvLine() joins fields with commas and ends with CRLF", () => {
  assert.equal(csvLine(["a", null, "c,d"]), 'a,,"c,d"\r\n');
});

async function* numbers(n: number, seen: { closed: boolean }) {
  try {
    for (let i = 0; i < n; i++) yield i;
  } finally {
    seen.closed = true;
  }
}

Deno.test("csvStream() writes the header and every row", async () => {
  const seen = { closed: false };
  const text = await new Response(csvStream(["n"], numbers(3, seen), (i) => [String(i)])).text();
  assert.equal(text, "n\r\n0\r\n1\r\n2\r\n");
});

Deno.test("csvStream() reads rows only as the consumer pulls, and cancelling closes them", async () => {
  const seen = { closed: false };
  let read = 0;
  const stream = csvStream(["n"], numbers(1_000_000, seen), (i) => {
    read++;
    return [String(i)];
  });
  const reader = stream.getReader();
  await reader.read();
  assert.ok(read < 100_000, `read ${read} rows for one chunk`);
  await reader.cancel();
  assert.equal(seen.closed, true);
});

Deno.test("csvStream() errors the stream and reports a failure to read rows", async () => {
  const reported: unknown[] = [];
  async function* failing() {
    yield 1;
    throw new Error("disk gone");
  }
  const stream = csvStream(["n"], failing(), (i) => [String(i)], (err) => reported.push(err));
  await assert.rejects(new Response(stream).text(), /disk gone/);
  assert.equal(reported.length, 1);
});
