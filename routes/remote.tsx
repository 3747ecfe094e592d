/**
 * Take Remote Control and File Transfer: the pages, the browser WebSockets of terminal and
 * desktop channels, and streamed uploads and downloads. Every channel is opened through the
 * relay, which asks core first; nothing here decides whether a channel may exist.
 */
import { Hono } from "hono";
import { createHash } from "node:crypto";
import { z } from "zod";
import { ACTION_LABELS, allowedActions, type SupportSession } from "../core/mod.ts";
import { type Channel, ChannelError, INITIAL_WINDOW } from "../hub/channels.ts";
import { randomToken } from "../lib/tokens.ts";
import { canSee, fileReach, visibleDepartments } from "../services/devices.ts";
import { sessionBarModel } from "../services/device_views.ts";
import { type DeviceRow, findDevice } from "../store/devices.ts";
import {
  type FilesModel,
  FilesPage,
  type ListingEntry,
  TransferList,
} from "../views/FilesPage.tsx";
import { RemotePage, RemoteUnavailablePage, SessionBarContent } from "../views/RemotePage.tsx";
import { NO_VNC_TEXT } from "../views/DevicePage.tsx";
import { type AppEnv, type Ctx, currentUser, HttpError } from "./env.ts";
import { parseWith } from "./forms.ts";
import { liveStream } from "./live.ts";
import { allowBody, bodyTooLarge, requireUser } from "./middleware.ts";
import { render, renderPartial } from "./render.tsx";

/** Close codes the browser sees on a channel WebSocket. */
export const BROWSER_CLOSE = {
  done: 1000,
  refused: 4403,
  ended: 4000,
  tooFast: 4008,
} as const;

/** Browser bytes waiting for agent credit beyond this close the channel (the sender ignores credit). */
const MAX_PENDING = 8 * 1024 * 1024;

interface Owned {
  session: SupportSession;
  device: DeviceRow;
}

/** The viewer's own session and its device (404 for anyone else's). */
async function owned(c: Ctx): Promise<Owned> {
  const { db, sessions } = c.get("services");
  const user = currentUser(c);
  const stored = await sessions.get(c.req.param("id") ?? "");
  const device = stored && await findDevice(db, stored.session.deviceId);
  if (
    !stored || !device || stored.session.technicianId !== user.id ||
    !canSee(await visibleDepartments(db, user), device.department_id)
  ) {
    throw new HttpError(404, "There is no such support session");
  }
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

function capabilities(device: DeviceRow): string[] {
  try {
    return JSON.parse(device.capabilities);
  } catch {
    return [];
  }
}

function bar(c: Ctx, o: Owned) {
  return sessionBarModel(c.get("services"), o.session, o.device);
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
});

const PathQuery = z.object({ path: z.string().min(1).max(4096).optional() });

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
        />,
        409,
      );
    }
    const caps = capabilities(o.device);
    const view = c.req.query("view") === "desktop" || !caps.includes("terminal")
      ? "desktop"
      : "terminal";
    c.set("styleNonce", randomToken(16));
    return render(
      c,
      <RemotePage
        model={{
          sessionId: o.session.id,
          deviceId: o.device.id,
          deviceName: o.device.name,
          view,
          bar: bar(c, o),
          terminal: {
            available: caps.includes("terminal"),
            reason: caps.includes("terminal") ? null : "The device's agent cannot open a terminal",
            recorded: await c.get("services").recordings.recordsTerminals(o.device.department_id),
          },
          desktop: {
            available: caps.includes("desktop"),
            reason: caps.includes("desktop") ? null : NO_VNC_TEXT,
          },
          files: actions(c, o).file_transfer.enabled,
        }}
      />,
    );
  });

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
    const credit = c.req.query("credit") === "1";
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    socket.binaryType = "arraybuffer";
    const user = currentUser(c);
    const relay = c.get("services").relay;
    // What the browser sends while the device opens its side is kept, not lost.
    const early: MessageEvent[] = [];
    socket.onmessage = (event) => {
      if (early.length < 64) early.push(event);
    };
    socket.onopen = () => {
      relay.open({
        sessionId: o.session.id,
        technicianId: user.id,
        type,
        params: type === "terminal" ? { cols, rows, asUser: o.session.asUser } : {},
        viewOnly: type === "desktop" && c.req.query("viewOnly") === "1",
      }).then((channel) => bridge(socket, channel, { control: type === "terminal", credit }, early))
        .catch((err) => {
          const message = err instanceof ChannelError ? err.message : "The channel could not open";
          if (type === "terminal") sendJson(socket, { type: "error", message });
          closeSocket(socket, BROWSER_CLOSE.refused, message);
        });
    };
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
    const relay = c.get("services").relay;
    const user = currentUser(c);
    const desktops = relay.ofSession(o.session.id).filter((ch) =>
      ch.type === "desktop" && ch.technicianId === user.id && ch.state !== "closed"
    );
    if (desktops.length === 0) throw new HttpError(409, "No desktop of this session is open");
    for (const channel of desktops) {
      try {
        await relay.setViewOnly(channel, mode === "view_only");
      } catch (err) {
        if (err instanceof ChannelError) throw new HttpError(409, err.message);
        throw err;
      }
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
        />,
        409,
      );
    }
    const q = parseWith(PathQuery, c.req.query());
    if (!q.ok) throw new HttpError(400, q.message);
    const services = c.get("services");
    const { roots } = await fileReach(services.db, o.device);
    const model: FilesModel = {
      roots: roots.map((r) => ({
        path: r.path,
        label: r.source === "upload"
          ? "Upload folder"
          : r.source === "home"
          ? `Home folder of ${r.user}`
          : "Added by an admin",
      })),
      sessionId: o.session.id,
      deviceId: o.device.id,
      deviceName: o.device.name,
      bar: bar(c, o),
      listing: null,
      listingError: null,
      transfers: services.transfers.list(o.session.id),
      maxBytes: services.maxTransferBytes,
      remoteControl: allowed.take_remote_control.enabled,
    };
    try {
      model.listing = await listFolder(c, o, q.data.path ?? null);
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err;
      model.listingError = err.message;
    }
    return render(c, <FilesPage model={model} />);
  });

  app.get("/sessions/:id/transfers", requireUser(), async (c) => {
    const o = await owned(c);
    const list = c.get("services").transfers.list(o.session.id);
    return renderPartial(c, <TransferList sessionId={o.session.id} transfers={list} />);
  });

  // The session bar follows the authorization live: deauthorized, expired, the app quit, the
  // device went offline or came back.
  app.get("/sessions/:id/bar", requireUser(), async (c) => {
    const o = await owned(c);
    return renderPartial(c, <SessionBarContent model={bar(c, o)} />);
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
    const channel = c.get("services").relay.get(Number(c.req.param("cid")));
    if (!channel || channel.sessionId !== o.session.id) {
      throw new HttpError(404, "There is no such transfer");
    }
    channel.close("cancelled", "Cancelled by the technician");
    return c.body(null, 204);
  });

  app.post("/sessions/:id/files/upload", requireUser(), async (c) => {
    const o = await owned(c);
    const q = parseWith(UploadQuery, c.req.query());
    if (!q.ok) return c.json({ error: q.message, code: "invalid_request" }, 400);
    const services = c.get("services");
    if (q.data.size > services.maxTransferBytes) {
      return c.json({
        error: `The file is larger than the ${
          Math.floor(services.maxTransferBytes / 1024 ** 2)
        } MiB limit`,
        code: "too_large",
      }, 413);
    }
    const body = c.req.raw.body;
    if (!body) return c.json({ error: "The request has no file", code: "invalid_request" }, 400);
    let channel: Channel;
    try {
      channel = await services.relay.open({
        sessionId: o.session.id,
        technicianId: currentUser(c).id,
        type: "file_upload",
        params: {
          name: q.data.name,
          ...(q.data.folder ? { folder: q.data.folder } : {}),
          size: q.data.size,
          sha256: q.data.sha256,
          overwrite: q.data.overwrite === "1",
        },
      });
    } catch (err) {
      await body.cancel().catch(() => {});
      if (!(err instanceof ChannelError)) throw err;
      const exists = /already exists/.test(err.message);
      return c.json({ error: err.message, code: exists ? "exists" : err.code }, exists ? 409 : 403);
    }
    // Signed in, the session's owner, and the rules allowed the channel: only now may the
    // body be longer than a form, and never longer than announced.
    allowBody(c, q.data.size);
    const transfer = services.transfers.start(channel, {
      direction: "upload",
      name: q.data.name,
      size: q.data.size,
    });
    const outcome = collectOutcome(channel);
    const hash = createHash("sha256");
    let sent = 0;
    const reader = body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        sent += value.byteLength;
        if (sent > q.data.size) {
          throw new ChannelError("too_large", "More bytes arrived than announced");
        }
        hash.update(value);
        await channel.send(value);
      }
      if (sent !== q.data.size) throw new ChannelError("short", "The upload ended early");
      if (hash.digest("hex") !== q.data.sha256) {
        throw new ChannelError("damaged", "The file arrived damaged (SHA-256 mismatch)");
      }
    } catch (err) {
      const message = err instanceof ChannelError
        ? err.message
        : bodyTooLarge(c)
        ? "More bytes arrived than announced"
        : "The upload was interrupted";
      // The rest of the body is not wanted; a body left unread stays open in the server.
      await reader.cancel().catch(() => {});
      if (channel.state !== "closed") channel.close("cancelled", message);
      const result = await outcome;
      services.transfers.finish(channel, "failed", result.message ?? message);
      return c.json({ error: result.message ?? message, code: "aborted" }, 409);
    }
    const result = await outcome;
    services.transfers.finish(
      channel,
      result.done ? "completed" : "failed",
      result.done ? null : result.message,
      result.done?.sha256 as string | undefined,
    );
    if (!result.done) return c.json({ error: result.message, code: "failed" }, 409);
    return c.json({
      ok: true,
      path: result.done.path,
      size: result.done.size,
      sha256: result.done.sha256,
      transfer: transfer.id,
    });
  });

  app.get("/sessions/:id/files/download", requireUser(), async (c) => {
    const o = await owned(c);
    const q = parseWith(PathQuery, c.req.query());
    if (!q.ok || !q.data.path) {
      throw new HttpError(400, q.ok ? "Which file? path is missing" : q.message);
    }
    const services = c.get("services");
    let channel: Channel;
    try {
      channel = await services.relay.open({
        sessionId: o.session.id,
        technicianId: currentUser(c).id,
        type: "file_download",
        params: { path: q.data.path },
      });
    } catch (err) {
      if (!(err instanceof ChannelError)) throw err;
      throw new HttpError(reachRefusal(err) ? 403 : 409, err.message);
    }
    const download = await streamDownload(services, channel);
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

/**
 * Turns a download channel into a response body. The stream's queue is the only buffer: the
 * agent gets credit as the browser reads, and the SHA-256 of what passed through must match
 * the device's, or the download is aborted rather than saved damaged.
 */
function streamDownload(
  services: AppEnv["Variables"]["services"],
  channel: Channel,
): Promise<{ name: string; size: number; stream: ReadableStream<Uint8Array> } | null> {
  return new Promise((resolve) => {
    const hash = createHash("sha256");
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    let started = false;
    let expected = -1;
    let received = 0;
    const stream = new ReadableStream<Uint8Array>({
      start: (ctl) => {
        controller = ctl;
      },
      pull: () => channel.drained(),
      cancel: () => {
        // The browser may hang up as soon as it has every byte, before the device's "done":
        // that download is complete, and the device's word settles it.
        if (received === expected) return;
        channel.close("cancelled", "The download was cancelled");
      },
    }, { highWaterMark: INITIAL_WINDOW, size: (chunk) => chunk.byteLength });
    const fail = (message: string) => {
      try {
        controller.error(new Error(message));
      } catch {
        // The browser already went away.
      }
    };
    channel.sink = {
      data(payload) {
        hash.update(payload);
        received += payload.byteLength;
        try {
          controller.enqueue(payload.slice());
        } catch {
          // The browser hung up with every byte; the rest is only the device's "done".
        }
      },
      event(event) {
        if (event.type === "meta" && !started) {
          started = true;
          const meta = { name: String(event.name), size: Number(event.size) };
          expected = meta.size;
          services.transfers.start(channel, { direction: "download", ...meta });
          resolve({ ...meta, stream });
        } else if (event.type === "done") {
          const ours = hash.digest("hex");
          if (ours !== event.sha256) {
            services.transfers.finish(
              channel,
              "failed",
              "The file arrived damaged (SHA-256 mismatch)",
            );
            fail("SHA-256 mismatch");
          } else {
            services.transfers.finish(channel, "completed", null, ours);
            try {
              controller.close();
            } catch {
              // Already cancelled by a browser that had every byte.
            }
          }
        }
      },
      closed(reason, code) {
        if (!started) resolve(null);
        if (code === "completed") return;
        services.transfers.finish(channel, code === "cancelled" ? "cancelled" : "failed", reason);
        fail(reason);
      },
      backlog: () => Math.max(0, INITIAL_WINDOW - (controller.desiredSize ?? 0)),
    };
  });
}

/** Lists a folder on the device through a short-lived file_list channel. */
async function listFolder(c: Ctx, o: Owned, path: string | null): Promise<FilesModel["listing"]> {
  const channel = await c.get("services").relay.open({
    sessionId: o.session.id,
    technicianId: currentUser(c).id,
    type: "file_list",
    params: { path },
  });
  const result = await collectOutcome(channel, "listing");
  // A long listing arrives in several pages (each fits one frame).
  const pages = result.events;
  const l = pages[0];
  if (!l) throw new ChannelError("failed", result.message ?? "The folder could not be listed");
  const base = String(l.path);
  const entries = pages.flatMap((p) => (Array.isArray(p.entries) ? p.entries : [])) as Omit<
    ListingEntry,
    "path"
  >[];
  return {
    path: base,
    parent: typeof l.parent === "string" ? l.parent : null,
    truncated: pages.some((p) => p.truncated === true),
    entries: entries.map((e) => ({ ...e, path: joinPath(base, e.name) })),
  };
}

/** Refused for where it points: outside the roots, or not a path the device would take. */
function reachRefusal(err: ChannelError): boolean {
  return err.code === "outside_reach" || err.code === "invalid_path";
}

function joinPath(base: string, name: string): string {
  const sep = base.includes("\\") && !base.includes("/") ? "\\" : "/";
  return base.endsWith(sep) ? base + name : base + sep + name;
}

/** What a channel said before it ended. */
interface Outcome {
  done?: Record<string, unknown>;
  /** Every event of the awaited type, in order. */
  events: Record<string, unknown>[];
  message: string | null;
}

/** Waits for a channel to end; keeps its "done" event and every `eventType` event. */
function collectOutcome(channel: Channel, eventType = "done"): Promise<Outcome> {
  return new Promise((resolve) => {
    const result: Outcome = { events: [], message: null };
    channel.sink = {
      data() {},
      event(event) {
        if (event.type === "done") result.done = event;
        if (event.type === eventType) result.events.push(event);
      },
      closed(reason) {
        result.message = reason;
        resolve(result);
      },
      backlog: () => 0,
    };
  });
}

/** Connects a browser WebSocket to a channel, with bounded buffers both ways. */
function bridge(
  socket: WebSocket,
  channel: Channel,
  options: { control: boolean; credit: boolean },
  early: MessageEvent[],
) {
  // "opened" goes first: setting the sink replays what the device already sent (its info).
  if (options.control) sendJson(socket, { type: "opened" });
  if (options.credit) sendJson(socket, { type: "credit", bytes: INITIAL_WINDOW });
  channel.sink = {
    data(payload) {
      if (socket.readyState === WebSocket.OPEN) socket.send(payload.slice());
    },
    event(event) {
      if (options.control) sendJson(socket, { type: "event", event });
    },
    closed(reason, code) {
      if (options.control) sendJson(socket, { type: "closed", reason, code });
      closeSocket(socket, code === "completed" ? BROWSER_CLOSE.done : BROWSER_CLOSE.ended, reason);
    },
    backlog: () => socket.bufferedAmount,
  };
  let pending = 0;
  let unacknowledged = 0;
  let queue = Promise.resolve();
  socket.onmessage = (event) => {
    if (typeof event.data === "string") {
      if (!options.control) return;
      try {
        const m = JSON.parse(event.data);
        if (m?.type === "resize") {
          channel.event({
            type: "resize",
            cols: clamp(Number(m.cols), 2, 500, 80),
            rows: clamp(Number(m.rows), 2, 300, 24),
          });
        }
      } catch {
        // A malformed control message is ignored; the channel stays usable.
      }
      return;
    }
    const bytes = new Uint8Array(event.data as ArrayBuffer);
    pending += bytes.byteLength;
    if (pending > MAX_PENDING) {
      channel.close("cancelled", "The browser sent faster than the device could take");
      return;
    }
    queue = queue.then(async () => {
      await channel.send(bytes).catch(() => {});
      pending -= bytes.byteLength;
      // Credit back in batches, so control messages stay few next to the data.
      unacknowledged += bytes.byteLength;
      if (options.credit && (unacknowledged >= 256 * 1024 || pending === 0)) {
        sendJson(socket, { type: "credit", bytes: unacknowledged });
        unacknowledged = 0;
      }
    });
  };
  socket.onclose = () => {
    if (channel.state !== "closed") channel.close("completed", "Closed by the technician");
  };
  socket.onerror = () => {};
  for (const event of early.splice(0)) socket.onmessage(event);
  if (socket.readyState === WebSocket.CLOSED) {
    channel.close("completed", "Closed by the technician");
  }
}

function sendJson(socket: WebSocket, message: unknown) {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function closeSocket(socket: WebSocket, code: number, reason: string) {
  try {
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) {
      socket.close(code, reason.slice(0, 120));
    }
  } catch {
    // already closing
  }
}

function clamp(n: number, min: number, max: number, fallback: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.round(n))) : fallback;
}
