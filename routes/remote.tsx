/**
 * Take Remote Control and File Transfer: the pages, the browser WebSockets of terminal and
 * desktop channels, and streamed uploads and downloads. Every channel is opened through the
 * relay, which asks core first; nothing here decides whether a channel may exist.
 */
import { Hono } from "hono";
import * as z from "zod";
import {
  ACTION_LABELS,
  allowedActions,
  CONSENT_CAPABILITIES,
  desktopViewOnly,
  notGrantedText,
  type SupportSession,
} from "../core/mod.ts";
import { randomToken } from "../lib/tokens.ts";
import { sessionBarModel } from "../presenters/device_views.ts";
import { isReachRefusal } from "../services/file_transfers.ts";
import { ChannelError } from "../services/remote_channels.ts";
import type { Device } from "../services/devices.ts";
import {
  type BrowseModel,
  FilesBrowse,
  type FilesModel,
  TransferList,
} from "../views/FilesPage.tsx";
import {
  RemoteUnavailablePage,
  SessionBarContent,
  type WorkspaceModel,
  WorkspacePage,
  type WorkspaceView,
} from "../views/RemotePage.tsx";
import { NO_VNC_TEXT } from "../views/DevicePage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith } from "./forms.ts";
import { liveStream } from "./live.ts";
import { allowBody, bodyTooLarge, requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";
import { sessionFailure } from "./sessions.tsx";

interface Owned {
  session: SupportSession;
  device: Device;
}

/** The viewer's own session and its device (404 for anyone else's). */
async function owned(c: Ctx): Promise<Owned> {
  const { stored, device } = await c.get("services").sessions
    .owned(currentUser(c), c.req.param("id") ?? "").catch(sessionFailure);
  return { session: stored.session, device };
}

function actions(c: Ctx, o: Owned) {
  const { sessions, clock } = c.get("services");
  return allowedActions({
    device: sessions.deviceView(o.device),
    session: o.session,
    now: clock.now(),
    technicianId: currentUser(c).id,
  });
}

function bar(c: Ctx, o: Owned) {
  return sessionBarModel(c.get("services"), o.session, o.device);
}

/**
 * The workspace with `view` on show. The files panel lists `path` only when it is the panel on
 * show; otherwise it loads its folder when first shown.
 */
async function workspace(
  c: Ctx,
  o: Owned,
  view: WorkspaceView,
  path: string | null,
): Promise<WorkspaceModel> {
  const caps = o.device.capabilities;
  const allowed = actions(c, o);
  const { files } = c.get("services");
  let panel: FilesModel | null = null;
  if (allowed.file_transfer.enabled) {
    const roots = await files.roots(o.device);
    panel = {
      roots: roots.map((r) => ({
        path: r.path,
        label: r.source === "upload"
          ? "Upload folder"
          : r.source === "home"
          ? `Home folder of ${r.user}`
          : "Added by an admin",
      })),
      sessionId: o.session.id,
      listing: null,
      listingError: null,
      transfers: files.progress(o.session.id),
      maxBytes: files.maxBytes,
    };
    if (view === "files") {
      try {
        panel.listing = await files.list(o.session.id, currentUser(c).id, path);
      } catch (err) {
        if (!(err instanceof ChannelError)) throw err;
        panel.listingError = err.message;
      }
    }
  }
  const remote = allowed.take_remote_control;
  // What the end user granted decides too; the relay refuses the rest whatever this shows.
  const status = o.session.status;
  const granted = status.kind === "authorized"
    ? status.capabilities ?? [...CONSENT_CAPABILITIES]
    : [];
  const terminalGranted = granted.includes("terminal");
  const desktopGranted = granted.includes("desktop_view") || granted.includes("desktop_control");
  if (caps.includes("terminal") || caps.includes("desktop")) c.set("styleNonce", randomToken(16));
  return {
    sessionId: o.session.id,
    deviceId: o.device.id,
    deviceName: o.device.name,
    view,
    bar: bar(c, o),
    terminal: {
      available: remote.enabled && caps.includes("terminal") && terminalGranted,
      reason: !remote.enabled
        ? remote.reason
        : !caps.includes("terminal")
        ? "The device's agent cannot open a terminal"
        : terminalGranted
        ? null
        : notGrantedText("terminal"),
      recorded: await c.get("services").recordings.recordsTerminals(o.device.department_id),
    },
    desktop: {
      available: remote.enabled && caps.includes("desktop") && desktopGranted,
      reason: !remote.enabled
        ? remote.reason
        : !caps.includes("desktop")
        ? NO_VNC_TEXT
        : desktopGranted
        ? null
        : notGrantedText("desktop_view"),
      viewOnly: desktopViewOnly(granted),
    },
    files: panel,
  };
}

/** WebSockets from other sites must not ride on the technician's cookie. */
function sameOrigin(c: Ctx): boolean {
  const origin = c.req.header("Origin");
  if (!origin) return false;
  return origin === new URL(c.req.url).origin ||
    origin === new URL(c.get("services").config.publicUrl).origin;
}

const UploadQuery = z.object({
  name: z.string().min(1, "The file needs a name").max(255, "That file name is too long"),
  folder: z.string().min(1).max(4096).optional(),
  size: z.coerce.number({ error: "size must be a number" }).int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "sha256 must be 64 hexadecimal characters"),
  overwrite: z.enum(["0", "1"]).default("0"),
  tag: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "tag must be letters, digits, - or _").optional(),
});

const FolderQuery = z.object({
  folder: z.string().min(1).max(4096).optional(),
  path: z.string().min(1, "The folder needs a name").max(4096, "That folder path is too long"),
});

const PathQuery = z.object({ path: z.string().min(1).max(4096).optional() });

/**
 * The panel the workspace opens on: the desktop when asked for, or when the device has no
 * terminal or the end user did not grant one; the terminal otherwise.
 */
function openingPanel(
  session: SupportSession,
  capabilities: readonly string[],
  asked: string | undefined,
): "desktop" | "terminal" {
  const status = session.status;
  const terminalGranted = status.kind === "authorized" &&
    (status.capabilities ?? [...CONSENT_CAPABILITIES]).includes("terminal");
  return asked === "desktop" || !capabilities.includes("terminal") || !terminalGranted
    ? "desktop"
    : "terminal";
}

/** /sessions/:id/remote, /files, /channels/:type, /transfers. */
export function remoteRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/sessions/:id/remote", requireUser(), async (c) => {
    const o = await owned(c);
    const allowed = actions(c, o).take_remote_control;
    if (!allowed.enabled) {
      return render(
        c,
        <RemoteUnavailablePage
          deviceId={o.device.id}
          deviceName={o.device.name}
          title={ACTION_LABELS.take_remote_control}
          reason={allowed.reason}
          then={c.req.query("view") === "desktop" ? "desktop" : "terminal"}
        />,
        409,
      );
    }
    const view = openingPanel(o.session, o.device.capabilities, c.req.query("view"));
    return render(c, <WorkspacePage model={await workspace(c, o, view, null)} />);
  });

  // Upgraded with Deno's own upgrade: hono's helper refuses `Upgrade: WebSocket` (docs/adr/0009).
  app.get("/sessions/:id/channels/:type", requireUser(), async (c) => {
    const type = c.req.param("type");
    if (type !== "terminal" && type !== "desktop") throw new HttpError(404, "No such channel");
    const o = await owned(c);
    if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
      return c.text("This endpoint speaks WebSocket", 426, { Upgrade: "websocket" });
    }
    if (!sameOrigin(c)) throw new HttpError(403, "Cross-site WebSocket refused");
    const cols = clamp(Number(c.req.query("cols")), 2, 500, 80);
    const rows = clamp(Number(c.req.query("rows")), 2, 300, 24);
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    socket.binaryType = "arraybuffer";
    c.get("services").remote.connectBrowser(
      {
        sessionId: o.session.id,
        technicianId: currentUser(c).id,
        type,
        params: type === "terminal" ? { cols, rows, asUser: o.session.asUser } : {},
        viewOnly: type === "desktop" && c.req.query("viewOnly") === "1",
      },
      socket,
      { control: type === "terminal", credit: c.req.query("credit") === "1" },
    );
    return response;
  });

  // The desktop's view-only switch: the page tells the server, which then keeps the technician's
  // input from the device itself (a page that ignored its own switch would be held to it).
  app.post("/sessions/:id/channels/desktop/mode", requireUser(), async (c) => {
    const o = await owned(c);
    const form = await c.req.parseBody().catch(() => null);
    const mode = form?.mode;
    if (mode !== "view_only" && mode !== "control") {
      throw new HttpError(400, 'The mode must be "view_only" or "control"');
    }
    try {
      await c.get("services").remote.setDesktopMode({
        sessionId: o.session.id,
        technicianId: currentUser(c).id,
        viewOnly: mode === "view_only",
      });
    } catch (err) {
      if (err instanceof ChannelError) throw new HttpError(409, err.message);
      throw err;
    }
    return c.body(null, 204);
  });

  app.get("/sessions/:id/files", requireUser(), async (c) => {
    const o = await owned(c);
    const allowed = actions(c, o);
    if (!allowed.file_transfer.enabled) {
      return render(
        c,
        <RemoteUnavailablePage
          deviceId={o.device.id}
          deviceName={o.device.name}
          title={ACTION_LABELS.file_transfer}
          reason={allowed.file_transfer.reason}
          then="files"
        />,
        409,
      );
    }
    const q = parseWith(PathQuery, c.req.query());
    if (!q.ok) throw new HttpError(400, q.message);
    return render(
      c,
      <WorkspacePage model={await workspace(c, o, "files", q.data.path ?? null)} />,
    );
  });

  // The folder view alone, swapped into the files panel (a folder link, the path box, a
  // refresh after an upload).
  app.get("/sessions/:id/files/browse", requireUser(), async (c) => {
    const o = await owned(c);
    const allowed = actions(c, o).file_transfer;
    const q = parseWith(PathQuery, c.req.query());
    const model: BrowseModel = { sessionId: o.session.id, listing: null, listingError: null };
    if (!allowed.enabled) model.listingError = allowed.reason;
    else if (!q.ok) model.listingError = q.message;
    else {
      try {
        model.listing = await c.get("services").files
          .list(o.session.id, currentUser(c).id, q.data.path ?? null);
      } catch (err) {
        if (!(err instanceof ChannelError)) throw err;
        model.listingError = err.message;
      }
    }
    return renderPartial(c, <FilesBrowse model={model} />);
  });

  app.get("/sessions/:id/transfers", requireUser(), async (c) => {
    const o = await owned(c);
    const list = c.get("services").files.progress(o.session.id);
    return renderPartial(c, <TransferList sessionId={o.session.id} transfers={list} />);
  });

  // The session bar follows the authorization live: deauthorized, expired, the app quit, the
  // device went offline or came back.
  app.get("/sessions/:id/bar", requireUser(), async (c) => {
    const o = await owned(c);
    const receipt = await c.get("services").receipts.ofLastEnd(o.session);
    const receiptHref = receipt &&
      `/sessions/${encodeURIComponent(o.session.id)}/receipts/${encodeURIComponent(receipt.id)}`;
    return renderPartial(c, <SessionBarContent model={{ ...bar(c, o), receiptHref }} />);
  });

  app.get("/sessions/:id/live", requireUser(), async (c) => {
    const o = await owned(c);
    return liveStream(c, {
      event: "session",
      accepts: (e) =>
        (e.kind === "session" && e.sessionId === o.session.id) ||
        (e.kind === "device" && e.deviceId === o.device.id),
      minIntervalMs: 250,
    });
  });

  app.get("/sessions/:id/events", requireUser(), async (c) => {
    const o = await owned(c);
    return liveStream(c, {
      event: "transfer",
      accepts: (e) =>
        (e.kind === "transfer" && e.sessionId === o.session.id) ||
        (e.kind === "session" && e.sessionId === o.session.id),
      minIntervalMs: 500,
    });
  });

  app.post("/sessions/:id/transfers/:cid/cancel", requireUser(), async (c) => {
    const o = await owned(c);
    if (!c.get("services").files.cancel(o.session.id, Number(c.req.param("cid")))) {
      throw new HttpError(404, "There is no such transfer");
    }
    return c.body(null, 204);
  });

  app.post("/sessions/:id/files/upload", requireUser(), async (c) => {
    const o = await owned(c);
    const q = parseWith(UploadQuery, c.req.query());
    if (!q.ok) return c.json({ error: q.message, code: "invalid_request" }, 400);
    const body = c.req.raw.body;
    if (!body) return c.json({ error: "The request has no file", code: "invalid_request" }, 400);
    const { overwrite, ...upload } = q.data;
    const result = await c.get("services").files.upload(
      o.session.id,
      currentUser(c).id,
      { ...upload, overwrite: overwrite === "1" },
      body,
      { allow: (bytes) => allowBody(c, bytes), exceeded: () => bodyTooLarge(c) },
    );
    if (!result.ok) return c.json({ error: result.error, code: result.code }, result.status);
    const { ok: _, ...done } = result;
    return c.json({ ok: true, ...done });
  });

  // A folder of a folder upload: `path` is relative ("a/b") to `folder` (or the upload folder).
  app.post("/sessions/:id/files/folder", requireUser(), async (c) => {
    const o = await owned(c);
    const q = parseWith(FolderQuery, c.req.query());
    if (!q.ok) return c.json({ error: q.message, code: "invalid_request" }, 400);
    const result = await c.get("services").files.makeFolder(o.session.id, currentUser(c).id, {
      ...(q.data.folder ? { folder: q.data.folder } : {}),
      names: q.data.path.split("/"),
    });
    if (!result.ok) return c.json({ error: result.error, code: result.code }, result.status);
    return c.json(result);
  });

  app.get("/sessions/:id/files/download", requireUser(), async (c) => {
    const o = await owned(c);
    const q = parseWith(PathQuery, c.req.query());
    if (!q.ok || !q.data.path) {
      throw new HttpError(400, q.ok ? "Which file? path is missing" : q.message);
    }
    const download = await c.get("services").files
      .download(o.session.id, currentUser(c).id, q.data.path)
      .catch((err) => {
        if (!(err instanceof ChannelError)) throw err;
        throw new HttpError(isReachRefusal(err) ? 403 : 409, err.message);
      });
    if (!download) throw new HttpError(409, "The device closed the download");
    return new Response(download.stream, {
      headers: {
        "Content-Type": "application/octet-stream",
        "Content-Length": String(download.size),
        "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(download.name)}`,
        "Cache-Control": "no-store",
      },
    });
  });

  return app;
}

function clamp(n: number, min: number, max: number, fallback: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : fallback;
}
