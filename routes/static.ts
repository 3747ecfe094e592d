/**
 * Static assets, read once at start-up from static/ (embedded in the compiled binary with
 * `--include static`) and served with a content hash as their version.
 */
import { Hono } from "hono";
import { createHash } from "node:crypto";

/**
 * Our own files served under /static/. With the vendored files listed in
 * static/vendor/files.json (written by `deno task vendor`) they are all that is served.
 */
export const OWN_ASSETS = [
  "app.css",
  "app.js",
  "favicon.svg",
  "remote.js",
  "files.js",
  "player.js",
  "sha256.js",
] as const;

const TYPES: Record<string, string> = {
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  json: "application/json",
  woff2: "font/woff2",
};

interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/** The loaded assets and the version string that busts caches when any of them changes. */
export interface Assets {
  files: Map<string, Asset>;
  version: string;
}

/** Reads every asset into memory. */
export async function loadAssets(): Promise<Assets> {
  const files = new Map<string, Asset>();
  const all = createHash("sha256");
  const vendored: string[] = JSON.parse(
    await Deno.readTextFile(new URL("../static/vendor/files.json", import.meta.url)),
  );
  for (const name of [...OWN_ASSETS, ...vendored]) {
    const body = await Deno.readFile(new URL(`../static/${name}`, import.meta.url));
    const hash = createHash("sha256").update(body).digest("base64url").slice(0, 16);
    all.update(name).update(hash);
    const ext = name.slice(name.lastIndexOf(".") + 1);
    files.set(name, { body, type: TYPES[ext] ?? "application/octet-stream", etag: `"${hash}"` });
  }
  return { files, version: all.digest("base64url").slice(0, 10) };
}

/** Routes for /static/*. Versioned URLs are cached for a year; others revalidate. */
export function staticRoutes(assets: Assets): Hono {
  const app = new Hono();
  app.get("/static/*", (c) => {
    const name = c.req.path.slice("/static/".length);
    const asset = assets.files.get(name);
    if (!asset) return c.text("Not found", 404);
    const cache = c.req.query("v") === assets.version
      ? "public, max-age=31536000, immutable"
      : "no-cache";
    if (c.req.header("If-None-Match") === asset.etag) {
      return c.body(null, 304, { ETag: asset.etag, "Cache-Control": cache });
    }
    return c.body(asset.body.slice(), 200, {
      "Content-Type": asset.type,
      ETag: asset.etag,
      "Cache-Control": cache,
    });
  });
  return app;
}
