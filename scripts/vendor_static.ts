/**
 * Copies browser assets from the pinned npm packages into static/vendor/, so the server
 * serves them itself (air-gapped sites have no CDN), and writes static/vendor/files.json,
 * the list the server serves. Run after changing a version in deno.json: `deno task vendor`.
 * Test-only assets (axe-core, which the browser tests inject) are copied but not listed, so
 * the server never serves them.
 */
const root = new URL("../", import.meta.url);
const vendor = new URL("static/vendor/", root);

const FILES: [from: string, to: string][] = [
  ["node_modules/htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["node_modules/htmx-ext-sse/dist/sse.min.js", "htmx-ext-sse.js"],
  ["node_modules/@xterm/xterm/lib/xterm.mjs", "xterm/xterm.mjs"],
  ["node_modules/@xterm/xterm/css/xterm.css", "xterm/xterm.css"],
  ["node_modules/@xterm/addon-fit/lib/addon-fit.mjs", "xterm/addon-fit.mjs"],
];

// Copied beside the others but left out of files.json: only the browser tests use them.
const TEST_ONLY: [from: string, to: string][] = [
  ["node_modules/axe-core/axe.min.js", "axe/axe.min.js"],
];

// noVNC ships as ES modules; copy its core and the pako it imports, keeping the layout.
const TREES: [from: string, to: string][] = [
  ["node_modules/@novnc/novnc/core/", "novnc/core/"],
  ["node_modules/@novnc/novnc/vendor/pako/lib/", "novnc/vendor/pako/lib/"],
];

async function* walk(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) yield* walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
    else if (entry.name.endsWith(".js")) yield `${prefix}${entry.name}`;
  }
}

await Deno.remove(vendor, { recursive: true }).catch(() => {});
const served: string[] = [];
const copy = async (from: URL, to: string) => {
  const target = new URL(to, vendor);
  await Deno.mkdir(new URL(".", target), { recursive: true });
  await Deno.copyFile(from, target);
  served.push(`vendor/${to}`);
};
for (const [from, to] of FILES) await copy(new URL(from, root), to);
for (const [from, to] of TEST_ONLY) {
  const target = new URL(to, vendor);
  await Deno.mkdir(new URL(".", target), { recursive: true });
  await Deno.copyFile(new URL(from, root), target);
}
for (const [from, to] of TREES) {
  for await (const file of walk(new URL(from, root))) {
    await copy(new URL(file, new URL(from, root)), to + file);
  }
}
for (
  const license of [
    ["node_modules/@xterm/xterm/LICENSE", "xterm/LICENSE"],
    ["node_modules/@novnc/novnc/LICENSE.txt", "novnc/LICENSE.txt"],
    ["node_modules/htmx.org/LICENSE", "htmx-LICENSE"],
    ["node_modules/axe-core/LICENSE", "axe/LICENSE"],
  ]
) {
  await Deno.copyFile(new URL(license[0]!, root), new URL(license[1]!, vendor)).catch(() => {});
}
served.sort();
await Deno.writeTextFile(new URL("files.json", vendor), JSON.stringify(served, null, 2) + "\n");
console.log(`vendored ${served.length} files into static/vendor/`);
