/** Device rows turned into the view models the device pages show, with live presence. */
import {
  allowedActions,
  attendedActions,
  AUTHORIZATION_IN_PROGRESS,
  CoreError,
  type EmailGate,
  requestReason,
  SESSION_IS_CLOSED,
  SESSION_NOT_AUTHORIZED,
  sessionView,
  type SupportSession,
  waitingForText,
} from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { LiveDevices } from "./live_devices.ts";
import type { Db } from "../store/db.ts";
import { findUser, staysOnPanel } from "../store/users.ts";
import { type Device, listGroups } from "../store/devices.ts";
import { listDepartments } from "../store/departments.ts";
import type { DeviceModel } from "../views/DevicePage.tsx";
import type { DeviceListItem } from "../views/DevicesPage.tsx";
import type { SessionPanelModel } from "../views/SessionPanel.tsx";
import type { SessionBarModel, SessionBarState } from "../views/RemotePage.tsx";
import type { CurrentUser } from "./accounts.ts";
import type { SupportSessions } from "./sessions.ts";
import { progressLines } from "./email_auth.ts";
import { loadPolicies } from "../store/policies.ts";

/** Names of departments and groups, for labelling devices. */
export interface Names {
  departments: Map<string, string>;
  groups: Map<string, string>;
}

/** Loads department and group names. */
export async function loadNames(db: Db): Promise<Names> {
  const [departments, groups] = await Promise.all([listDepartments(db), listGroups(db, "all")]);
  return {
    departments: new Map(departments.map((d) => [d.id, d.name])),
    groups: new Map(groups.map((g) => [g.id, g.name])),
  };
}

/** A row of the device list. */
export function deviceListItem(row: Device, live: LiveDevices, names: Names): DeviceListItem {
  return {
    id: row.id,
    name: row.name,
    online: live.isOnline(row.id),
    disabled: row.disabled_at !== null,
    os: row.os,
    deviceType: row.device_type,
    ip: row.ip_addresses[0] ?? null,
    users: row.users.map((u) => u.name),
    lastActivityAt: live.lastActivity(row),
    department: names.departments.get(row.department_id) ?? "—",
    group: row.group_id ? names.groups.get(row.group_id) ?? null : null,
  };
}

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

/** The support session panel of a device page, for this viewer, at `now`. */
export async function sessionPanelModel(
  services: { sessions: SupportSessions; clock: Clock; db: Db },
  user: CurrentUser,
  device: Device,
  /** A Service Desk session's device: `live` while its code is neither closed nor expired. */
  attended?: { supportId: string; live: boolean; appRunning: boolean },
  /** A reason the technician typed and had refused: shown again with its error. */
  typedReason?: string,
): Promise<SessionPanelModel> {
  const now = services.clock.now();
  const stored = await services.sessions.current(user, device.id);
  const session = stored?.session ?? null;
  let view = session ? sessionView(session, now, { deviceName: device.name }) : null;
  // Technicians are recorded by id; show their name (approvers are already email addresses).
  if (view?.kind === "unauthorized" && view.outcome?.by && !view.outcome.by.includes("@")) {
    const by = await findUser(services.db, view.outcome.by);
    view = { ...view, outcome: { ...view.outcome, by: by?.name ?? view.outcome.by } };
  }
  const status = session?.status;
  const last = status?.kind === "unauthorized" ? status.last ?? null : null;
  let waitSeconds: number | null = null;
  if (status?.kind === "authorizing" && view?.kind === "authorizing") {
    waitSeconds = Math.max(1, Math.round((view.deadline - status.attempt.startedAt) / 1000));
  }
  const actions = allowedActions({
    device: services.sessions.deviceView(device),
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
    request: await requestField(services.db, device, !!attended, typedReason),
    actions: attended ? attendedActions(actions, attended) : actions,
    users: device.users.map((u) => u.name),
    attended: attended ? { supportId: attended.supportId } : null,
    openWhenAuthorized: !attended && !await staysOnPanel(services.db, user.id),
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
async function requestField(
  db: Db,
  device: Device,
  attended: boolean,
  typed: string | undefined,
): Promise<NonNullable<SessionPanelModel["request"]>> {
  const policy = (await loadPolicies(db, device.department_id)).authorization;
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
