/**
 * Agent packages and the scripts that install them, for anyone: /downloads/:file (a package
 * the manifest offers), /install/agent.sh and /install/agent.ps1 (installers that know this
 * server's URL and packages; the token and the expected SHA-256 come as their arguments).
 */
import { Hono } from "hono";
import { agentDownloads, downloadPath } from "../services/downloads.ts";
import { agentInstallPs1, agentInstallSh } from "../services/install_scripts.ts";
import { type AppEnv, type Ctx, HttpError } from "./env.ts";

const SCRIPT_HEADERS = {
  "Content-Type": "text/plain; charset=utf-8",
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
};

/** /downloads/:file and /install/…. */
export function downloadRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/downloads/:file", async (c) => {
    const name = c.req.param("file");
    const path = await downloadPath(c.get("services").downloadsDir, name);
    let file: Deno.FsFile | null = null;
    try {
      if (path) file = await Deno.open(path, { read: true });
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (!file) throw new HttpError(404, "There is no such download");
    const { size } = await file.stat();
    const headers = {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(size),
      "Content-Disposition": `attachment; filename="${name}"`,
      "Cache-Control": "no-store",
    };
    // HEAD is answered by this handler too, and its body would never be read (nor the file closed).
    if (c.req.method === "HEAD") {
      file.close();
      return c.body(null, 200, headers);
    }
    return c.body(file.readable, 200, headers);
  });

  const script = (kind: "sh" | "ps1") => async (c: Ctx) => {
    const services = c.get("services");
    const input = {
      server: services.config.publicUrl,
      downloads: await agentDownloads(services.downloadsDir),
    };
    return c.body(
      kind === "sh" ? agentInstallSh(input) : agentInstallPs1(input),
      200,
      SCRIPT_HEADERS,
    );
  };
  app.get("/install/agent.sh", script("sh"));
  app.get("/install/agent.ps1", script("ps1"));

  return app;
}
