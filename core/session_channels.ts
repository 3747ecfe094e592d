// R2 channels: remote control and file transfer exist only inside an authorized, unexpired
// session. A request the rule table's guards refuse is recorded and answered with the button's own
// code and reason; the connection going away closes every channel, not the authorization.

import { SYSTEM } from "./effects.ts";
import { closeChannels } from "./session_endings.ts";
import { type Step, technicianActor, unchanged } from "./session_happenings.ts";
import type { ButtonGuard } from "./session_guards.ts";
import type {
  OpenChannel,
  SessionIn,
  SupportSession,
  SupportSessionEvent,
} from "./session_state.ts";

type OpenRequest = Extract<SupportSessionEvent, { type: "open_channel" }>;
type CloseReport = Extract<SupportSessionEvent, { type: "close_channel" }>;

/** A channel opens in an authorized session; asking again for an open one changes nothing. */
export function openChannel(session: SessionIn<"authorized">, event: OpenRequest): Step {
  const status = session.status;
  if (status.channels.some((channel) => channel.id === event.channelId)) return unchanged(session);
  const channel: OpenChannel = { id: event.channelId, kind: event.kind, openedAt: event.at };
  return {
    state: { ...session, status: { ...status, channels: [...status.channels, channel] } },
    effects: [{
      happened: "channel_opened",
      at: event.at,
      actor: technicianActor(event.technicianId),
      attemptId: status.attemptId,
      channel,
    }],
  };
}

/** A refused channel request: recorded, and answered with the guard's code and reason. */
export function refuseChannel(
  session: SupportSession,
  event: OpenRequest,
  guard: ButtonGuard,
): Step {
  const status = session.status;
  return {
    state: session,
    effects: [{
      happened: "channel_refused",
      at: event.at,
      actor: technicianActor(event.technicianId),
      attemptId: status.kind === "authorized" ? status.attemptId : null,
      channelId: event.channelId,
      kind: event.kind,
      code: guard.code,
    }],
    refused: { code: guard.code, reason: guard.reason },
  };
}

/** A channel the relay reports closed leaves the session; an unknown one changes nothing. */
export function closeChannel(session: SessionIn<"authorized">, event: CloseReport): Step {
  const status = session.status;
  const channel = status.channels.find((candidate) => candidate.id === event.channelId);
  if (!channel) return unchanged(session);
  return {
    state: {
      ...session,
      status: { ...status, channels: status.channels.filter((c) => c.id !== channel.id) },
    },
    effects: [{
      happened: "channel_closed",
      at: event.at,
      actor: SYSTEM,
      attemptId: status.attemptId,
      channel,
      reason: event.reason,
    }],
  };
}

// The authorization is time-boxed, not tied to the connection: it survives a reconnect, but
// nothing can flow over a connection that is gone.
/** The device went offline: every channel closes, the authorization stays until its expiry. */
export function dropChannels(
  session: SessionIn<"authorized">,
  event: Extract<SupportSessionEvent, { type: "device_offline" }>,
): Step {
  const channels = session.status.channels;
  if (channels.length === 0) return unchanged(session);
  return {
    state: { ...session, status: { ...session.status, channels: [] } },
    effects: closeChannels(session, channels, {
      reason: "device_offline",
      at: event.at,
      actor: SYSTEM,
    }),
  };
}
