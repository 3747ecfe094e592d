/**
 * /recordings/:id: a recorded terminal played back, and its .cast file. Only the technician who
 * held the session and admins of the device's department may; every read of the recording is
 * audited (the page itself shows only what the audit log shows).
 */
import { Hono } from "hono";
import { randomToken } from "../lib/tokens.ts";
import { RecordingPage } from "../views/RecordingPage.tsx";
import { type AppEnv, currentUser, HttpError } from "./env.ts";
import { requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

const NOT_FOUND = "There is no such recording";

/** /recordings/:id and /recordings/:id/cast. */
export function recordingRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/recordings/*", requireUser());

  app.get("/recordings/:id", async (c) => {
    const found = await c.get("services").recordings.describe(currentUser(c), c.req.param("id"));
    if (!found) throw new HttpError(404, NOT_FOUND);
    const { row } = found;
    // xterm.js injects its own <style> elements; the CSP admits them by this nonce.
    c.set("styleNonce", randomToken(16));
    return render(
      c,
      <RecordingPage
        model={{
          id: row.id,
          deviceName: found.deviceName ?? "A removed device",
          technician: found.technicianName ?? "A removed user",
          startedAt: row.started_at,
          endedAt: row.ended_at,
          sha256: row.sha256,
          sessionHref: `/audit/sessions/${encodeURIComponent(row.session_id)}`,
          deletedAt: row.deleted_at,
        }}
      />,
    );
  });

  app.get("/recordings/:id/cast", async (c) => {
    const { recordings } = c.get("services");
    const play = c.req.query("play") === "1";
    const found = await recordings.open(
      currentUser(c),
      c.req.param("id"),
      play ? "played" : "downloaded",
    );
    if (!found || found.row.deleted_at !== null || found.row.ended_at === null) {
      throw new HttpError(404, NOT_FOUND);
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(found.path, { read: true });
    } catch {
      throw new HttpError(404, NOT_FOUND);
    }
    return c.body(file.readable, 200, castHeaders(found.row, play));
  });

  return app;
}

/** A recording file's headers: shown in the player, or downloaded under a dated name. */
function castHeaders(row: { id: string; started_at: number }, play: boolean) {
  const date = new Date(row.started_at).toISOString().slice(0, 10).replaceAll("-", "");
  const name = `assent-terminal-${date}-${row.id.slice(0, 8)}.cast`;
  return {
    "Content-Type": "application/x-asciicast; charset=utf-8",
    "Content-Disposition": `${play ? "inline" : "attachment"}; filename="${name}"`,
    "Cache-Control": "no-store",
  };
}
