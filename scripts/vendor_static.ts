/**
 * Copies browser assets from the pinned npm packages into static/vendor/, so the server
 * serves them itself (air-gapped sites have no CDN). Run after changing a version in
 * deno.json: `deno task vendor`.
 */
const FILES: [from: string, to: string][] = [
  ["node_modules/htmx.org/dist/htmx.min.js", "static/vendor/htmx.min.js"],
  ["node_modules/htmx-ext-sse/dist/sse.min.js", "static/vendor/htmx-ext-sse.js"],
];

const root = new URL("../", import.meta.url);
await Deno.mkdir(new URL("static/vendor/", root), { recursive: true });
for (const [from, to] of FILES) {
  await Deno.copyFile(new URL(from, root), new URL(to, root));
  console.log(`${from} -> ${to}`);
}
