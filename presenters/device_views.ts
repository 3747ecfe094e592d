/**
 * The device pages' view models: the device list and page, the support session panel and the
 * session bar, made from what services load.
 */
import {
  type ActionName,
  type ActionState,
  allowedActions,
  attendedActions,
  AUTHORIZATION_IN_PROGRESS,
  CoreError,
  type EmailGate,
  progressLines,
  requestReason,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  type SessionView,
  sessionView,
  type SupportSession,
  waitingForText,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { Device, DeviceListRow, Names, PanelFacts } from "../services/device_facts.ts";
import type { LiveDevices } from "../services/live_devices.ts";
import type { SupportSessions } from "../services/sessions.ts";

/** Everything the device page shows about a device. */
export interface DeviceModel {
  id: string;
  name: string;
  online: boolean;
  disabled: boolean;
  serialNumber: string | null;
  lastActivityAt: number | null;
  os: string | null;
  model: string | null;
  deviceType: string | null;
  ipAddresses: string[];
  department: string;
  group: string | null;
  users: { name: string; session: string | null; locked: boolean | null }[];
  locked: boolean | null;
  loggedOff: boolean | null;
  capabilities: string[];
  agentVersion: string | null;
  enrolledAt: number;
}

/** One row of the device list. */
export interface DeviceListItem {
  id: string;
  name: string;
  online: boolean;
  disabled: boolean;
  os: string | null;
  deviceType: string | null;
  ip: string | null;
  users: string[];
  lastActivityAt: number | null;
  department: string;
  group: string | null;
}

/** What the panel shows. */
export interface SessionPanelModel {
  deviceId: string;
  deviceName: string;
  session: {
    id: string;
    asUser: string | null;
    view: SessionView;
    /** Seconds the current wait lasts in total, for the progress bar. */
    waitSeconds: number | null;
    outcomeDismissed: boolean;
    /** The attempt whose outcome the Close button dismisses. */
    lastAttemptId: string | null;
    /** Who must still decide by email, per requirement, e.g. "one of a@x.example (device settings)". */
    emailWaitingFor: string | null;
    /** Each requirement's standing, e.g. "device settings: 1 of 2 allows". */
    approvalLines?: string[];
    /** The comment of the approver whose decision ended the last attempt, if any. */
    outcomeComment?: string | null;
  } | null;
  /** Request Authorization's reason field: required by the department, the value and its error. */
  request?: {
    reasonRequired: boolean;
    reason?: string;
    reasonError?: string | null;
    /** The capabilities ticked; absent: all of them. */
    capabilities?: string[];
  };
  actions: Record<ActionName, ActionState>;
  users: string[];
  /**
   * Once a request this browser made is authorized, open the workspace by itself (false: the
   * technician's account says to stay on the panel).
   */
  openWhenAuthorized?: boolean;
  /** Set for a Service Desk session (R6): the customer grants permission in the support app. */
  attended?: { supportId: string } | null;
}

/** Where the authorization stands, for the bar: time left as the server counts it, or how it ended. */
export type SessionBarState =
  | { kind: "authorized"; expiresAt: number; leftMs: number; deviceOnline: boolean }
  | { kind: "ended"; heading: string; reason: string };

/** The session bar of the remote-control and file pages; it follows the authorization live. */
export interface SessionBarModel {
  sessionId: string;
  deviceId: string;
  deviceName: string;
  asUser: string | null;
  state: SessionBarState;
  /** The consent receipt of the authorization that just ended, once it is ready. */
  receiptHref?: string | null;
}

/**
 * A row of the device list. The item made for a row is kept and given again while the row
 * (the same object: pages of the list are kept until the database changes) and what it
 * shows from outside the row (online or not, the last activity, the department's and the
 * group's names) are the same, so the view can keep the row's markup by item (see
 * DevicesPage.tsx). Items are shared between viewers: read them, never change them.
 */
export function deviceListItem(
  row: DeviceListRow,
  live: LiveDevices,
  names: Names,
): DeviceListItem {
  const online = live.isOnline(row.id);
  const lastActivityAt = live.lastActivity(row);
  const department = names.departments.get(row.department_id) ?? "—";
  const group = row.group_id ? names.groups.get(row.group_id) ?? null : null;
  const kept = keptItems.get(row);
  if (
    kept && kept.online === online && kept.lastActivityAt === lastActivityAt &&
    kept.department === department && kept.group === group
  ) return kept;
  const item: DeviceListItem = {
    id: row.id,
    name: row.name,
    online,
    disabled: row.disabled_at !== null,
    os: row.os,
    deviceType: row.device_type,
    ip: row.ip_addresses[0] ?? null,
    users: row.users.map((u) => u.name),
    lastActivityAt,
    department,
    group,
  };
  keptItems.set(row, item);
  return item;
}

// By row object: a row read again (the database changed) is a new object and a new item.
const keptItems = new WeakMap<DeviceListRow, DeviceListItem>();

/** The device page's model. */
export function deviceModel(row: Device, live: LiveDevices, names: Names): DeviceModel {
  return {
    id: row.id,
    name: row.name,
    online: live.isOnline(row.id),
    disabled: row.disabled_at !== null,
    serialNumber: row.serial_number,
    lastActivityAt: live.lastActivity(row),
    os: row.os,
    model: row.model,
    deviceType: row.device_type,
    ipAddresses: row.ip_addresses,
    department: names.departments.get(row.department_id) ?? "—",
    group: row.group_id ? names.groups.get(row.group_id) ?? null : null,
    users: row.users,
    locked: row.locked,
    loggedOff: row.logged_off,
    capabilities: row.capabilities,
    agentVersion: row.agent_version,
    enrolledAt: row.enrolled_at,
  };
}

/** The support session panel of a device page, for its viewer, from what was loaded. */
export function sessionPanelModel(facts: PanelFacts): SessionPanelModel {
  const { now, user, device, stored, attended, typedReason } = facts;
  const session = stored?.session ?? null;
  let view = session ? sessionView(session, now, { deviceName: device.name }) : null;
  if (view?.kind === "unauthorized" && view.outcome && facts.decidedBy !== null) {
    view = { ...view, outcome: { ...view.outcome, by: facts.decidedBy } };
  }
  const status = session?.status;
  const last = status?.kind === "unauthorized" ? status.last ?? null : null;
  let waitSeconds: number | null = null;
  if (status?.kind === "authorizing" && view?.kind === "authorizing") {
    waitSeconds = Math.max(1, Math.round((view.deadline - status.attempt.startedAt) / 1000));
  }
  const actions = allowedActions({
    device: facts.deviceView,
    session,
    now,
    technicianId: user.id,
  });
  return {
    deviceId: device.id,
    deviceName: device.name,
    session: session && view
      ? {
        id: session.id,
        asUser: session.asUser,
        view,
        waitSeconds,
        outcomeDismissed: last !== null && stored?.dismissedAttemptId === last.attemptId,
        lastAttemptId: last?.attemptId ?? null,
        emailWaitingFor: view.kind === "authorizing" && view.waitingApprovals.length > 0
          ? waitingForText(view.waitingApprovals)
          : null,
        approvalLines: status?.kind === "authorizing" ? progressLines(status.attempt.email) : [],
        outcomeComment: last ? decidingComment(last.attempt.email, last.by) : null,
      }
      : null,
    request: requestField(facts.authorization, !!attended, typedReason),
    actions: attended ? attendedActions(actions, attended) : actions,
    users: device.users.map((u) => u.name),
    attended: attended ? { supportId: attended.supportId } : null,
    openWhenAuthorized: !attended && !facts.staysOnPanel,
  };
}

/**
 * The bar of the remote-control and file pages at `now`: the time left as the server counts it,
 * or, once the authorization ended (deauthorized, expired, the app quit, a new request), how.
 */
export function sessionBarModel(
  services: { sessions: SupportSessions; clock: Clock },
  session: SupportSession,
  device: Device,
): SessionBarModel {
  const now = services.clock.now();
  const view = sessionView(session, now, { deviceName: device.name });
  const ended = (heading: string, reason: string): SessionBarState => ({
    kind: "ended",
    heading,
    reason,
  });
  let state: SessionBarState;
  switch (view.kind) {
    case "authorized":
      state = {
        kind: "authorized",
        expiresAt: view.expiresAt,
        leftMs: Math.max(0, view.expiresAt - now),
        deviceOnline: services.sessions.deviceView(device).online,
      };
      break;
    case "unauthorized":
      state = view.outcome
        ? ended(view.outcome.heading, view.outcome.reason)
        : ended("Not authorized", SESSION_NOT_AUTHORIZED);
      break;
    case "authorizing":
      state = ended(SESSION_NOT_AUTHORIZED, AUTHORIZATION_IN_PROGRESS);
      break;
    case "closed":
      state = ended(SESSION_NOT_AUTHORIZED, SESSION_IS_CLOSED);
      break;
  }
  return {
    sessionId: session.id,
    deviceId: device.id,
    deviceName: device.name,
    asUser: session.asUser,
    state,
  };
}

// The approver who ended an attempt may have said why; the panel shows it under the outcome.
function decidingComment(gate: EmailGate, by: string | undefined): string | null {
  if (gate.kind === "not_required" || !by) return null;
  for (const requirement of gate.requirements) {
    const vote = (requirement.votes ?? []).find((v) => v.by === by && v.comment);
    if (vote?.comment) return vote.comment;
  }
  return null;
}

// The refused reason is checked again here rather than carried: the panel re-renders live, and
// each render must say the same thing about the same typed text.
function requestField(
  policy: PanelFacts["authorization"],
  attended: boolean,
  typed: string | undefined,
): NonNullable<SessionPanelModel["request"]> {
  const field = { reasonRequired: !attended && policy.requireReason === true };
  if (typed === undefined || attended) return field;
  try {
    requestReason(policy, typed);
    return { ...field, reason: typed };
  } catch (err) {
    if (!(err instanceof CoreError)) throw err;
    return { ...field, reason: typed, reasonError: err.message };
  }
}
