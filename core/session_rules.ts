// The rule table of a support session (R2, "Gates together"). Read it row by row: an event, the
// guards it must pass (named after the rules of DESIGN.md), then what it does in each status and
// the statuses that can follow. A status a row leaves out is one where the event changes nothing.
// Deadlines are settled before any row is consulted (`resolveDue`), so the table sees the session
// as it stands at the event's own time. The four technician actions of R2 are defined here too,
// so a button and the command behind it check the very same guards.

import { capabilitiesSatisfying } from "./consent.ts";
import { SYSTEM } from "./effects.ts";
import {
  answerPrompt,
  decideByEmail,
  ignoreEmailDecision,
  ignorePromptAnswer,
} from "./session_answers.ts";
import { closeChannel, dropChannels, openChannel, refuseChannel } from "./session_channels.ts";
import {
  closeSession,
  endAttemptStep,
  endAuthorization,
  endFromDevice,
  endIfPromptUnseen,
} from "./session_endings.ts";
import { endUserActor, type Step, technicianActor } from "./session_happenings.ts";
import {
  authorizationUnexpired,
  type ButtonGuard,
  canControlRemotely,
  canTransferFiles,
  capabilityGranted,
  type CommandGuard,
  deviceOnline,
  filesGranted,
  mfaEnrolled,
  notAlreadyAuthorized,
  notAuthorizing,
  remoteControlGranted,
  requestPending,
  secureConnectPassed,
  sessionAuthorized,
  sessionExists,
  sessionOpen,
  sessionOwner,
} from "./session_guards.ts";
import { askAgain, startAttempt, supersedeAttempt } from "./session_request.ts";
import type {
  AuthorizationContext,
  ChannelKind,
  SessionIn,
  StatusKind,
  SupportSession,
  SupportSessionEvent,
} from "./session_state.ts";

/** The four support-session actions of R2, in the order the panel shows them. */
export const ACTION_NAMES = [
  "take_remote_control",
  "request_authorization",
  "deauthorize_session",
  "file_transfer",
] as const;

/** One action from `ACTION_NAMES`. */
export type ActionName = typeof ACTION_NAMES[number];

/**
 * The guards of one action, most fundamental first: `guards` hold for the button and the command
 * alike; `buttonAlso` only disables the button, `commandAlso` only refuses the command.
 */
export type ActionRule = {
  guards: readonly ButtonGuard[];
  buttonAlso?: readonly ButtonGuard[];
  commandAlso?: readonly CommandGuard[];
};

// R1 puts "offline" above any session state, so an offline device reads "Unable to connect to the
// device" before "not authorized".
const CHANNEL_GUARDS = [
  sessionOpen,
  sessionOwner,
  deviceOnline,
  sessionAuthorized,
  authorizationUnexpired,
] as const;

/** R2: when each technician action is enabled; the one place enablement is written. */
export const ACTION_RULES = Object.freeze(
  {
    take_remote_control: {
      guards: [...CHANNEL_GUARDS, canControlRemotely, remoteControlGranted],
    },
    request_authorization: {
      guards: [sessionOpen, sessionOwner, deviceOnline, notAlreadyAuthorized],
      // The command replaces a pending request instead (a second tab, an API retry), so the end
      // user never faces two prompts; the button just says one is in progress.
      buttonAlso: [notAuthorizing],
      // Secure Connect is asked on its own page, which the enabled button leads to.
      commandAlso: [secureConnectPassed, mfaEnrolled],
    },
    // Ending access must never depend on reaching the device or on who opened the session.
    deauthorize_session: { guards: [sessionOpen, sessionAuthorized, authorizationUnexpired] },
    file_transfer: { guards: [...CHANNEL_GUARDS, canTransferFiles, filesGranted] },
  } as const satisfies Record<ActionName, ActionRule>,
);

/** What an action's button checks, in order: that a session exists, then the action's guards. */
export function buttonGuards(action: ActionName): readonly ButtonGuard[] {
  const rule: ActionRule = ACTION_RULES[action];
  return [sessionExists, ...rule.guards, ...(rule.buttonAlso ?? [])];
}

/** The action a channel of this kind is opened by. */
export function channelAction(kind: ChannelKind): "take_remote_control" | "file_transfer" {
  return kind === "remote_control" ? "take_remote_control" : "file_transfer";
}

/** An event as the table sees it: Request Authorization carries its context. */
export type RuleEvent =
  | Exclude<SupportSessionEvent, { type: "request_authorization" | "email_viewed" }>
  | { type: "request_authorization"; context: AuthorizationContext };

/** The event of type `T`. */
export type EventOf<T extends RuleEvent["type"]> = Extract<RuleEvent, { type: T }>;

/** One cell: what event `T` does in status `K`, and every status it can lead to. */
export type Rule<T extends RuleEvent["type"], K extends StatusKind> = {
  to: readonly StatusKind[];
  run: (session: SessionIn<K>, event: EventOf<T>) => Step;
};

/** One row: the guards of event `T`, then a cell for each status in which it does something. */
export type Row<T extends RuleEvent["type"]> = { [K in StatusKind]?: Rule<T, K> } & {
  /** A technician command: the first guard that does not hold throws, and nothing changes. */
  commandGuards?: readonly CommandGuard[];
  /** A channel request: a refusal is recorded and returned, as the button would have shown it. */
  channelGuards?: {
    guards: (event: EventOf<T>) => readonly ButtonGuard[];
    refused: (session: SupportSession, event: EventOf<T>, guard: ButtonGuard) => Step;
  };
};

/** The rule table: every event a support session hears, row by row. */
export type RuleTable = { [T in RuleEvent["type"]]: Row<T> };

const AUTHORIZATION_ENDS = ["unauthorized"] as const;
const GATES_RUN = ["authorizing", "authorized", "unauthorized"] as const;

/** R2 and "Gates together" as a table: status × event → next status, behind named guards. */
export const SESSION_RULES: RuleTable = Object.freeze<RuleTable>({
  request_authorization: {
    commandGuards: [
      ...ACTION_RULES.request_authorization.guards,
      ...ACTION_RULES.request_authorization.commandAlso,
    ],
    unauthorized: { to: GATES_RUN, run: (session, event) => startAttempt(session, event.context) },
    authorizing: {
      to: GATES_RUN,
      run: (session, event) => supersedeAttempt(session, event.context),
    },
    // Only a request for something the authorization lacks gets past `notAlreadyAuthorized`: the
    // end user is asked again, and what they granted before ends with the new request.
    authorized: { to: GATES_RUN, run: (session, event) => askAgain(session, event.context) },
  },

  // R4: the first answer to the live prompt counts; any other is recorded as ignored.
  confirmation_answered: {
    unauthorized: { to: ["unauthorized"], run: ignorePromptAnswer },
    authorizing: { to: GATES_RUN, run: answerPrompt },
    authorized: { to: ["authorized"], run: ignorePromptAnswer },
    closed: { to: ["closed"], run: ignorePromptAnswer },
  },

  // R5: a listed recipient's first decision counts, never the requester's own.
  email_decided: {
    unauthorized: { to: ["unauthorized"], run: ignoreEmailDecision },
    authorizing: { to: GATES_RUN, run: decideByEmail },
    authorized: { to: ["authorized"], run: ignoreEmailDecision },
    closed: { to: ["closed"], run: ignoreEmailDecision },
  },

  // Whatever a timer is due to end was settled before the table was consulted.
  timer: {},

  cancel: {
    commandGuards: [requestPending],
    authorizing: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAttemptStep(session, session.status.attempt, {
          outcome: "cancelled",
          at: event.at,
          by: event.by,
          actor: technicianActor(event.by),
        }),
    },
  },

  // R2: ends the authorization and every channel at once.
  deauthorize: {
    commandGuards: ACTION_RULES.deauthorize_session.guards,
    authorized: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAuthorization(session, {
          outcome: "deauthorized",
          at: event.at,
          by: event.by,
          actor: technicianActor(event.by),
        }),
    },
  },

  // Taking a technician's access away ends whatever the session holds; the record says why.
  revoke_access: {
    authorizing: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAttemptStep(session, session.status.attempt, {
          outcome: "access_revoked",
          at: event.at,
          actor: revoker(event.by),
          cause: event.cause,
        }),
    },
    authorized: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAuthorization(session, {
          outcome: "access_revoked",
          at: event.at,
          actor: revoker(event.by),
          cause: event.cause,
        }),
    },
  },

  // R1: a pending attempt cannot reach an offline device. The authorization is time-boxed, not
  // tied to the connection: it survives a reconnect, but its channels close with the connection.
  device_offline: {
    authorizing: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAttemptStep(session, session.status.attempt, {
          outcome: "device_offline",
          at: event.at,
          actor: SYSTEM,
        }),
    },
    authorized: { to: ["authorized"], run: dropChannels },
  },

  // R4: the device says nobody can see the prompt it was sent, so the attempt ends now rather
  // than at the timeout.
  capabilities_reported: {
    authorizing: { to: ["authorizing", "unauthorized"], run: endIfPromptUnseen },
  },

  // R6: an attended customer who quits the support app takes their consent with them.
  end_user_left: {
    authorizing: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAttemptStep(session, session.status.attempt, {
          outcome: "app_closed",
          at: event.at,
          actor: endUserActor(),
        }),
    },
    authorized: {
      to: AUTHORIZATION_ENDS,
      run: (session, event) =>
        endAuthorization(session, { outcome: "app_closed", at: event.at, actor: endUserActor() }),
    },
  },

  // The person at the device ends the authorization their indicator showed, and only that one.
  end_from_device: {
    unauthorized: { to: ["unauthorized"], run: endFromDevice },
    authorizing: { to: ["authorizing"], run: endFromDevice },
    authorized: { to: ["authorized", "unauthorized"], run: endFromDevice },
    closed: { to: ["closed"], run: endFromDevice },
  },

  // R2: a channel exists only inside an authorized, unexpired session, as its button shows.
  open_channel: {
    channelGuards: {
      // The channel's own capability, not just its action's: a desktop under a terminal-only
      // grant is refused although Take Remote Control is enabled.
      guards: (event) => [
        ...buttonGuards(channelAction(event.kind)),
        capabilityGranted(capabilitiesSatisfying(
          event.capability ?? (event.kind === "remote_control" ? "terminal" : "files"),
        )),
      ],
      refused: refuseChannel,
    },
    authorized: { to: ["authorized"], run: openChannel },
  },

  close_channel: {
    authorized: { to: ["authorized"], run: closeChannel },
  },

  // Closing ends whatever the session holds; a closed session does nothing more.
  close: {
    unauthorized: { to: ["closed"], run: closeSession },
    authorizing: { to: ["closed"], run: closeSession },
    authorized: { to: ["closed"], run: closeSession },
  },
});

function revoker(by: string | null) {
  return { kind: "system" as const, ...(by !== null ? { label: by } : {}) };
}
