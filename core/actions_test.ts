import { deepEqual, equal } from "node:assert/strict";
import { ACTION_LABELS, type ActionState, allowedActions, attendedActions } from "./actions.ts";
import { ACTION_NAMES, type ActionName } from "./session_rules.ts";
import type { ActionDevice, SessionStatus, SupportSession } from "./session_state.ts";
import {
  ALREADY_AUTHORIZED,
  AUTHORIZATION_HAS_EXPIRED,
  AUTHORIZATION_IN_PROGRESS,
  NO_FILE_TRANSFER_CAPABILITY,
  NO_REMOTE_CONTROL_CAPABILITY,
  NO_SUPPORT_SESSION,
  NOT_SESSION_OWNER,
  PERMISSION_FIRST,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  SUPPORT_APP_NOT_RUNNING,
  SUPPORT_SESSION_ENDED,
  UNABLE_TO_CONNECT,
} from "./texts.ts";

const T0 = 1_700_000_000_000;
const online: ActionDevice = {
  online: true,
  connectionValid: true,
  capabilities: ["desktop", "files"],
};
const offline: ActionDevice = { ...online, online: false };
const attempt = {
  id: "att-1",
  startedAt: T0,
  technicianName: "Ada",
  lifetimeMs: 4 * 3_600_000,
  confirmation: { kind: "not_required" as const, reason: "disabled" as const },
  email: { kind: "not_required" as const, reason: "disabled" as const },
  secureConnect: "not_required" as const,
};

function session(status: SessionStatus): SupportSession {
  return {
    id: "ses-1",
    deviceId: "dev-1",
    technicianId: "tech-1",
    asUser: null,
    openedAt: T0,
    status,
  };
}

const unauthorized = session({ kind: "unauthorized" });
const authorizing = session({ kind: "authorizing", attempt });
const authorized = session({
  kind: "authorized",
  attemptId: "att-1",
  authorizedAt: T0,
  expiresAt: T0 + 4 * 3_600_000,
  channels: [],
  attempt,
});
const closed = session({ kind: "closed", at: T0, reason: "session_closed" });

const ENABLED: ActionState = { enabled: true };
const off = (code: string, reason: string) => ({ enabled: false, code, reason });

function check(
  input: {
    device?: ActionDevice;
    session: SupportSession | null;
    now?: number;
    technicianId?: string;
  },
  expected: Record<ActionName, unknown>,
) {
  deepEqual(
    allowedActions({
      device: input.device ?? online,
      session: input.session,
      now: input.now ?? T0 + 1_000,
      technicianId: input.technicianId ?? "tech-1",
    }),
    expected,
  );
}

Deno.test("action labels are the four R2 actions verbatim", () => {
  deepEqual(ACTION_NAMES.map((name) => ACTION_LABELS[name]), [
    "Take Remote Control",
    "Request Authorization",
    "Deauthorize Session",
    "File Transfer",
  ]);
});

Deno.test("an unauthorized session on an online device offers only Request Authorization", () => {
  check({ session: unauthorized }, {
    take_remote_control: off("not_authorized", SESSION_NOT_AUTHORIZED),
    request_authorization: ENABLED,
    deauthorize_session: off("not_authorized", SESSION_NOT_AUTHORIZED),
    file_transfer: off("not_authorized", SESSION_NOT_AUTHORIZED),
  });
});

Deno.test('request authorization is locked while the device is offline, with "Unable to connect to the device"', () => {
  check({ session: unauthorized, device: offline }, {
    take_remote_control: off("device_offline", UNABLE_TO_CONNECT),
    request_authorization: off("device_offline", UNABLE_TO_CONNECT),
    deauthorize_session: off("not_authorized", SESSION_NOT_AUTHORIZED),
    file_transfer: off("device_offline", UNABLE_TO_CONNECT),
  });
});

Deno.test("an invalid connection reads like an offline device", () => {
  const verdicts = allowedActions({
    device: { ...online, connectionValid: false },
    session: authorized,
    now: T0 + 1,
    technicianId: "tech-1",
  });
  deepEqual(verdicts.take_remote_control, off("device_offline", UNABLE_TO_CONNECT));
});

Deno.test("take remote control needs an online device and an authorized session", () => {
  check({ session: authorized }, {
    take_remote_control: ENABLED,
    request_authorization: off("already_authorized", ALREADY_AUTHORIZED),
    deauthorize_session: ENABLED,
    file_transfer: ENABLED,
  });
});

Deno.test("deauthorize session is enabled while authorized even when the device is offline", () => {
  check({ session: authorized, device: offline }, {
    take_remote_control: off("device_offline", UNABLE_TO_CONNECT),
    request_authorization: off("device_offline", UNABLE_TO_CONNECT),
    deauthorize_session: ENABLED,
    file_transfer: off("device_offline", UNABLE_TO_CONNECT),
  });
});

Deno.test("while authorizing, nothing but the pending request is shown as in progress", () => {
  check({ session: authorizing }, {
    take_remote_control: off("not_authorized", SESSION_NOT_AUTHORIZED),
    request_authorization: off("authorizing", AUTHORIZATION_IN_PROGRESS),
    deauthorize_session: off("not_authorized", SESSION_NOT_AUTHORIZED),
    file_transfer: off("not_authorized", SESSION_NOT_AUTHORIZED),
  });
});

Deno.test("an authorization past its 4 hours disables the channels before the timer runs", () => {
  check({ session: authorized, now: T0 + 4 * 3_600_000 }, {
    take_remote_control: off("expired", AUTHORIZATION_HAS_EXPIRED),
    request_authorization: ENABLED,
    deauthorize_session: off("expired", AUTHORIZATION_HAS_EXPIRED),
    file_transfer: off("expired", AUTHORIZATION_HAS_EXPIRED),
  });
});

Deno.test("file transfer needs the file capability, remote control desktop or terminal", () => {
  const verdicts = (capabilities: string[]) =>
    allowedActions({
      device: { ...online, capabilities },
      session: authorized,
      now: T0 + 1,
      technicianId: "tech-1",
    });
  deepEqual(
    verdicts(["desktop"]).file_transfer,
    off("missing_capability", NO_FILE_TRANSFER_CAPABILITY),
  );
  equal(verdicts(["terminal"]).take_remote_control.enabled, true);
  deepEqual(
    verdicts(["files"]).take_remote_control,
    off("missing_capability", NO_REMOTE_CONTROL_CAPABILITY),
  );
});

Deno.test("another technician sees the session's actions disabled but may deauthorize it", () => {
  check({ session: authorized, technicianId: "tech-2" }, {
    take_remote_control: off("not_owner", NOT_SESSION_OWNER),
    request_authorization: off("not_owner", NOT_SESSION_OWNER),
    deauthorize_session: ENABLED,
    file_transfer: off("not_owner", NOT_SESSION_OWNER),
  });
});

Deno.test("without a session, or on a closed one, every action is disabled", () => {
  const none = off("no_session", NO_SUPPORT_SESSION);
  check({ session: null }, {
    take_remote_control: none,
    request_authorization: none,
    deauthorize_session: none,
    file_transfer: none,
  });
  const gone = off("session_closed", SESSION_IS_CLOSED);
  check({ session: closed }, {
    take_remote_control: gone,
    request_authorization: gone,
    deauthorize_session: gone,
    file_transfer: gone,
  });
});

Deno.test("attended sessions: permission opens the session, reasons speak of the support app", () => {
  const none = allowedActions({ device: online, session: null, now: 0, technicianId: "t1" });
  const running = attendedActions(none, { live: true, appRunning: true });
  deepEqual(running.request_authorization, { enabled: true });
  deepEqual(running.take_remote_control, off("no_session", PERMISSION_FIRST));
  deepEqual(running.file_transfer, off("no_session", PERMISSION_FIRST));

  const gone = attendedActions(
    allowedActions({ device: offline, session: null, now: 0, technicianId: "t1" }),
    { live: true, appRunning: false },
  );
  deepEqual(gone.request_authorization, off("device_offline", SUPPORT_APP_NOT_RUNNING));

  // With permission granted the actions are as unattended; the app leaving reads as such.
  const granted = allowedActions({
    device: online,
    session: authorized,
    now: T0,
    technicianId: "tech-1",
  });
  deepEqual(attendedActions(granted, { live: true, appRunning: true }), granted);
  const left = attendedActions(
    allowedActions({ device: offline, session: authorized, now: T0, technicianId: "tech-1" }),
    { live: true, appRunning: false },
  );
  deepEqual(left.take_remote_control, off("device_offline", SUPPORT_APP_NOT_RUNNING));
  deepEqual(left.deauthorize_session, { enabled: true });

  const ended = attendedActions(none, { live: false, appRunning: true });
  for (const name of ACTION_NAMES) {
    deepEqual(ended[name], off("session_closed", SUPPORT_SESSION_ENDED), name);
  }
});
