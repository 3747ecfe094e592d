/**
 * Take Remote Control and File Transfer channels as use cases. A channel opens only when
 * core's `open_channel` accepts it (an authorized, unexpired session, an online device, an
 * action `allowedActions` enables, the session's owner) and, for file channels, when the path
 * lies inside what the department's policy lets file transfer reach; only then does the relay
 * carry it. Every end that core did not cause itself is told to core, and every channel that
 * opened is recorded when it starts and when it ends.
 */
import {
  capabilityOfChannel,
  type ChannelKind,
  checkReach,
  CONSENT_CAPABILITIES,
  desktopViewOnly,
  folderNamesValid,
  OUTSIDE_FILE_REACH,
  type ReachRoot,
  supportSessionTransition,
} from "../core/mod.ts";
import type { Logger } from "../lib/log.ts";
import type { AuditAction } from "../core/mod.ts";
import { type Device, findDevice } from "../store/devices.ts";
import { loadSession } from "../store/sessions.ts";
import { fileReach } from "./devices.ts";
import type { LiveDevices } from "./live_devices.ts";
import type { IndicatorItem } from "../protocol/messages.ts";
import type {
  AgentLink,
  ChannelEnd,
  ChannelTransport,
  ChannelType,
  Clock,
  NodeDirectory,
  RelayedChannel,
} from "./ports.ts";
import type { SessionTransitions } from "./session_transitions.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** A channel that could not open or ended early, with the text to show and a code. */
export class ChannelError extends Error {
  override name = "ChannelError";
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/**
 * How long a browser's channel socket may wait to be joined to its channel or refused. The
 * device has 15 s to answer (the relay's own limit); the records around it take a moment more.
 */
export const BROWSER_OPEN_TIMEOUT_MS = 20_000;

/** What the browser is told when its channel did not open in that time. */
export const OPEN_TIMED_OUT = "The channel did not open in time";

/** Which action of R2 a channel type belongs to (what core checks). */
export function actionOf(type: ChannelType): ChannelKind {
  return type === "terminal" || type === "desktop" ? "remote_control" : "file_transfer";
}

/** A channel request: whose, on which session, what for. */
export interface ChannelRequest {
  sessionId: string;
  technicianId: string;
  type: ChannelType;
  params: Record<string, unknown>;
  /** A desktop that starts view only. */
  viewOnly?: boolean;
}

/** The relay plus what it offers for browsers' terminal and desktop sockets. */
export interface ChannelRelayPort extends ChannelTransport {
  /** Joins a browser WebSocket to an open channel, with bounded buffers both ways. */
  bridge(
    channel: RelayedChannel,
    socket: WebSocket,
    options: { control: boolean; credit: boolean; viewOnly?: boolean },
    early: MessageEvent[],
  ): void;
  /** Tells a browser WebSocket its channel could not open, and closes it. */
  refuseBrowser(socket: WebSocket, message: string, options: { control: boolean }): void;
}

/** What the channel use cases need. */
export interface RemoteChannelsDeps {
  work: UnitOfWork;
  transitions: SessionTransitions;
  live: LiveDevices;
  relay: ChannelRelayPort;
  clock: Clock;
  log: Logger;
  /** Tells the device what is open, for its session-active indicator. */
  agents?: AgentLink;
  organization?: () => string;
  /** Which node of a cluster holds a device connected elsewhere. */
  locator?: NodeDirectory;
}

/** Opens channels core allows, and records them. */
export class RemoteChannels {
  readonly #d: RemoteChannelsDeps;
  /** The authorization each live channel was opened in, for its records and the receipt. */
  readonly #attempts = new Map<number, string>();
  /** End records of channels still being written, per session. */
  readonly #recording = new Map<string, Set<Promise<void>>>();

  constructor(deps: RemoteChannelsDeps) {
    this.#d = deps;
  }

  /** Starts hearing how channels end. */
  start(): void {
    this.#d.relay.listen({ ended: (channel, end) => this.#ended(channel, end) });
  }

  /** A live channel of `sessionId` by id, if there is one. */
  ofSession(sessionId: string, channelId: number): RelayedChannel | undefined {
    const channel = this.#d.relay.get(channelId);
    return channel?.sessionId === sessionId ? channel : undefined;
  }

  /**
   * Opens a channel for a technician on a session, if core allows it, and waits until the
   * agent has opened its side. Throws {@link ChannelError} with the reason otherwise.
   */
  async open(request: ChannelRequest): Promise<RelayedChannel> {
    const { work, relay, transitions, clock } = this.#d;
    const stored = await loadSession(work.db, request.sessionId);
    if (!stored) throw new ChannelError("not_found", "There is no such support session");
    const device = await findDevice(work.db, stored.session.deviceId);
    if (!device) throw new ChannelError("not_found", "There is no such device");
    const params = await this.#withReach(request, device);
    const ids = relay.reserve();
    const view = this.#view(device);
    let refused: { code: string; reason: string } | undefined;
    let session: Awaited<ReturnType<SessionTransitions["apply"]>>["session"] | undefined;
    try {
      ({ refused, session } = await transitions.apply(
        request.sessionId,
        (s) =>
          supportSessionTransition(s, {
            type: "open_channel",
            channelId: ids.coreId,
            kind: actionOf(request.type),
            capability: capabilityOfChannel(request.type),
            technicianId: request.technicianId,
            at: clock.now(),
            device: view,
          }),
      ));
    } catch (err) {
      throw new ChannelError(codeOf(err) ?? "refused", (err as Error).message);
    }
    if (refused) throw new ChannelError(refused.code, refused.reason);
    if (session?.status.kind === "authorized") {
      this.#attempts.set(ids.id, session.status.attemptId);
    }
    let channel: RelayedChannel;
    try {
      channel = await relay.open({
        channel: ids,
        deviceId: device.id,
        sessionId: request.sessionId,
        technicianId: request.technicianId,
        type: request.type,
        params,
      });
    } catch (err) {
      this.#attempts.delete(ids.id);
      throw new ChannelError(codeOf(err) ?? "failed", (err as Error).message);
    }
    channel.setViewOnly(request.viewOnly ?? false, clock.now());
    // The end record names the file even when the agent's "done" does not (a download).
    if (request.type === "file_upload" && typeof params.name === "string") {
      channel.auditDetail = { name: params.name, ...channel.auditDetail };
    } else if (request.type === "file_download" && typeof params.path === "string") {
      channel.auditDetail = { path: params.path, ...channel.auditDetail };
    }
    this.#announce(channel.sessionId, channel.deviceId);
    const started = actionOf(request.type) === "remote_control"
      ? "remote_control.started"
      : "file_transfer.started";
    await this.#audit(channel, device, started, null, {
      channel: channel.coreId,
      type: request.type,
      ...describeParams(request.type, request.params),
      ...(channel.type === "desktop" ? { mode: channel.viewOnly ? "view_only" : "control" } : {}),
    });
    return channel;
  }

  /**
   * Puts the technician's open desktops of a session in view only or back in control, and
   * records each switch. A desktop whose stream cannot be followed message by message is closed
   * rather than left taking input it was told to drop. Returns how many desktops switched;
   * throws when none is open.
   */
  async setDesktopMode(
    request: { sessionId: string; technicianId: string; viewOnly: boolean },
  ): Promise<number> {
    const { relay, clock, work } = this.#d;
    const desktops = relay.ofSession(request.sessionId).filter((ch) =>
      ch.type === "desktop" && ch.technicianId === request.technicianId && ch.state !== "closed"
    );
    if (desktops.length === 0) {
      throw new ChannelError("closed", "No desktop of this session is open");
    }
    let switched = 0;
    for (const channel of desktops) {
      if (request.viewOnly && channel.viewOnlyUnsupported) {
        const message = "View only cannot be kept on this desktop connection, so it was closed";
        channel.close("cancelled", message);
        throw new ChannelError("view_only_unsupported", message);
      }
      if (!channel.setViewOnly(request.viewOnly, clock.now())) continue;
      switched += 1;
      await this.#audit(
        channel,
        await findDevice(work.db, channel.deviceId),
        "remote_control.mode_changed",
        null,
        {
          channel: channel.coreId,
          type: channel.type,
          mode: request.viewOnly ? "view_only" : "control",
        },
      );
    }
    return switched;
  }

  /**
   * A browser's terminal or desktop socket: what it sends while the device opens its side is
   * kept, then the two are joined; a refusal reaches the browser as a close with its reason.
   * Whatever becomes of the open (an upgrade that never opens, a step that never answers), the
   * browser is joined or refused within {@link BROWSER_OPEN_TIMEOUT_MS}; a channel that opens
   * after its browser was refused is closed at once, and recorded as it ends.
   */
  connectBrowser(
    request: ChannelRequest,
    socket: WebSocket,
    options: { control: boolean; credit: boolean },
  ): void {
    const { clock, relay, log } = this.#d;
    const early: MessageEvent[] = [];
    let settled = false;
    // How far the open got, for the log line of one that did not finish in time.
    let stage = "upgrade";
    const refuse = (message: string) => {
      if (settled) return;
      settled = true;
      deadline.cancel();
      relay.refuseBrowser(socket, message, options);
    };
    const deadline = clock.at(clock.now() + BROWSER_OPEN_TIMEOUT_MS, () => {
      if (settled) return;
      log.warn("a browser channel socket was neither joined nor refused in time", {
        sessionId: request.sessionId,
        type: request.type,
        stage,
        socketState: socket.readyState,
      });
      refuse(OPEN_TIMED_OUT);
    });
    socket.onmessage = (event) => {
      if (early.length < 64) early.push(event);
    };
    socket.onopen = async () => {
      if (settled) return;
      stage = "open";
      let channel: RelayedChannel;
      try {
        channel = await this.open(request);
      } catch (err) {
        return refuse(err instanceof ChannelError ? err.message : "The channel could not open");
      }
      if (settled) return channel.close("timed_out", OPEN_TIMED_OUT);
      stage = "join";
      try {
        // A desktop the end user let the technician see but not control: input stops here.
        const status = (await loadSession(this.#d.work.db, request.sessionId))?.session.status;
        const granted = status?.kind === "authorized"
          ? status.capabilities ?? [...CONSENT_CAPABILITIES]
          : [];
        const viewOnly = request.type === "desktop" && desktopViewOnly(granted);
        if (settled) return channel.close("timed_out", OPEN_TIMED_OUT);
        settled = true;
        deadline.cancel();
        relay.bridge(channel, socket, { ...options, viewOnly }, early);
      } catch (err) {
        log.warn("joining a browser to its channel failed", { err });
        channel.close("cancelled", "The channel could not open");
        refuse("The channel could not open");
      }
    };
  }

  /**
   * The device as the rules see it. A device connected to another node of the cluster is
   * online as its stored row says it is; the relay reaches it through that node.
   */
  #view(device: Device) {
    const view = this.#d.live.view(device);
    if (view.online || !this.#d.locator) return view;
    if (!this.#d.locator.holder(device.id)) return view;
    return {
      ...view,
      online: true,
      connectionValid: device.disabled_at === null,
      capabilitiesReported: true,
    };
  }

  /** What file transfer may reach on the device, by its department's policy. */
  async reach(device: Device): Promise<ReachRoot[]> {
    return (await fileReach(this.#d.work.db, device)).roots;
  }

  /**
   * A file channel's parameters with the roots the device's policy allows, after checking the
   * path (or upload folder) it asks for lies inside one of them. The agent checks again by
   * real path and has the last word; this refusal only spares it requests the policy forbids.
   */
  async #withReach(request: ChannelRequest, device: Device): Promise<Record<string, unknown>> {
    if (actionOf(request.type) !== "file_transfer") return request.params;
    const { roots, style } = await fileReach(this.#d.work.db, device);
    const params: Record<string, unknown> = { ...request.params, roots: roots.map((r) => r.path) };
    const refuse = async (outcome: string, detail: Record<string, unknown>) => {
      await this.#d.work.run((tx) =>
        tx.audit({
          action: "channel.refused",
          outcome,
          actor: { kind: "technician", id: request.technicianId },
          deviceId: device.id,
          sessionId: request.sessionId,
          departmentId: device.department_id,
          detail: { type: request.type, ...detail },
        })
      );
    };
    if (request.type === "file_mkdir" && !folderNamesValid(request.params.names, style)) {
      const shown = Array.isArray(request.params.names)
        ? request.params.names.map((n) => String(n).slice(0, 255)).join("/").slice(0, 300)
        : "";
      await refuse("invalid_path", { names: shown });
      throw new ChannelError(
        "invalid_path",
        `"${shown}" is not a folder path within the folder on show: use plain folder names, without "..", "." or a leading "/"`,
      );
    }
    for (const key of ["path", "folder"] as const) {
      const value = request.params[key];
      if (value === null || value === undefined) continue;
      const checked = checkReach(value, roots, style);
      if (checked.ok) {
        params[key] = checked.path;
        continue;
      }
      const shown = String(value).slice(0, 300);
      await refuse(checked.reason === "outside" ? "outside_reach" : "invalid_path", {
        [key]: shown,
      });
      throw checked.reason === "outside"
        ? new ChannelError("outside_reach", `${shown} ${OUTSIDE_FILE_REACH}`)
        : new ChannelError("invalid_path", `${shown} is not a full path on this device`);
    }
    return params;
  }

  /** A channel ended: core hears of it (unless it caused it), and an opened one is recorded. */
  #ended(channel: RelayedChannel, end: ChannelEnd) {
    const { transitions, clock, log, work } = this.#d;
    if (!end.byCore) {
      transitions.apply(channel.sessionId, (s) =>
        supportSessionTransition(s, {
          type: "close_channel",
          channelId: channel.coreId,
          at: clock.now(),
          reason: end.reason,
        })).catch((err) => log.warn("closing a channel in core failed", { err }));
    }
    const attemptId = this.#attempts.get(channel.id) ?? null;
    this.#attempts.delete(channel.id);
    if (!end.wasOpen) return;
    this.#announce(channel.sessionId, channel.deviceId);
    const action = actionOf(channel.type) === "remote_control"
      ? "remote_control.ended"
      : end.reason === "completed"
      ? "file_transfer.completed"
      : "file_transfer.aborted";
    const detail = {
      channel: channel.coreId,
      type: channel.type,
      durationMs: clock.now() - channel.stats.openedAt,
      bytesToDevice: channel.stats.bytesToAgent,
      bytesFromDevice: channel.stats.bytesFromAgent,
      reason: end.text,
      ...channel.modeSummary(clock.now()),
      ...channel.auditDetail,
    };
    // A recorded terminal's end record names its recording, so it waits for it to be sealed.
    const written = Promise.all([findDevice(work.db, channel.deviceId), end.recording])
      .then(([device, recording]) =>
        this.#audit(channel, device, action, end.reason, { ...detail, ...recording }, attemptId)
      )
      .catch((err) => log.warn("auditing a channel failed", { err }));
    const pending = this.#recording.get(channel.sessionId) ?? new Set();
    pending.add(written);
    this.#recording.set(channel.sessionId, pending);
    written.finally(() => {
      pending.delete(written);
      if (pending.size === 0) this.#recording.delete(channel.sessionId);
    });
  }

  /** True when the relay holds no channel of the session and none is being recorded. */
  quiet(sessionId: string): boolean {
    return !this.#recording.has(sessionId) && this.#d.relay.ofSession(sessionId).length === 0;
  }

  /** Resolves once every ended channel of the session is on record (the receipt reads them). */
  async settled(sessionId: string): Promise<void> {
    for (let pending = this.#recording.get(sessionId); pending;) {
      await Promise.all(pending);
      pending = this.#recording.get(sessionId);
    }
  }

  // The indicator at the device follows what is open. The list is read after the session, so
  // whichever announcement goes out last says what is open now; once the authorization has
  // ended it says nothing is. It is for display only: the device is never given access by it.
  #announce(sessionId: string, deviceId: string): void {
    const { agents, organization, work, clock, relay, log } = this.#d;
    if (!agents) return;
    loadSession(work.db, sessionId).then((stored) => {
      const status = stored?.session.status;
      const now = clock.now();
      const authorized = status?.kind === "authorized" && status.expiresAt > now;
      const attempt = status?.kind === "authorized"
        ? status.attempt
        : status?.kind === "unauthorized"
        ? status.last?.attempt
        : undefined;
      if (!status || !attempt) return;
      const expiresAt = status.kind === "authorized" ? status.expiresAt : now;
      const live = authorized ? relay.ofSession(sessionId).filter((c) => c.state === "open") : [];
      const open = indicatorItems(live.map((c) => c.type));
      const recorded = live.some((c) => c.recording !== null);
      agents.send(deviceId, {
        type: "session_status",
        sessionId,
        attemptId: attempt.id,
        technician: attempt.technicianName,
        organization: organization?.() ?? "",
        open,
        ...(recorded ? { recorded: true } : {}),
        expiresAt,
        remainingMs: Math.max(0, expiresAt - now),
      });
    }).catch((err) => log.warn("telling the device what is open failed", { err }));
  }

  async #audit(
    channel: RelayedChannel,
    device: Device | undefined,
    action: AuditAction,
    outcome: string | null,
    detail: Record<string, unknown>,
    attemptId: string | null = this.#attempts.get(channel.id) ?? null,
  ) {
    await this.#d.work.run((tx) =>
      tx.audit({
        action,
        outcome,
        actor: { kind: "technician", id: channel.technicianId },
        deviceId: channel.deviceId,
        sessionId: channel.sessionId,
        attemptId,
        departmentId: device?.department_id ?? null,
        detail,
      })
    );
  }
}

/**
 * What the indicator names for the channels open now: the screen, a terminal, file transfer.
 * A folder listing lasts a moment and is not named; the transfers it leads to are.
 */
export function indicatorItems(types: readonly ChannelType[]): IndicatorItem[] {
  const items: IndicatorItem[] = [];
  if (types.includes("desktop")) items.push("screen");
  if (types.includes("terminal")) items.push("terminal");
  if (types.includes("file_upload") || types.includes("file_download")) items.push("files");
  return items;
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function describeParams(type: ChannelType, params: Record<string, unknown>) {
  switch (type) {
    case "file_upload":
      return {
        direction: "to device",
        name: params.name,
        size: params.size,
        sha256: params.sha256,
        ...(typeof params.folder === "string" ? { folder: params.folder } : {}),
      };
    case "file_download":
      return { direction: "from device", path: params.path };
    case "file_list":
      return { path: params.path };
    case "file_mkdir":
      return {
        names: params.names,
        ...(typeof params.folder === "string" ? { folder: params.folder } : {}),
      };
    default:
      return {};
  }
}
