/** What the device pages show, loaded for a viewer: names, and the support session panel's facts. */
import { type AuthorizationPolicy, sessionView, type SupportSession } from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import type { Db } from "../store/db.ts";
import { type Device, type DeviceListRow, listGroups } from "../store/devices.ts";
import { listDepartments } from "../store/departments.ts";
import { KeptUntilChange } from "../store/change_mark.ts";
import { loadPolicies } from "../store/policies.ts";
import type { StoredSession } from "../store/sessions.ts";
import { findUser, staysOnPanel } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";
import type { SupportSessions } from "./sessions.ts";

export type { Device, DeviceListRow, StoredSession };

/** Names of departments and groups, for labelling devices. */
export interface Names {
  departments: ReadonlyMap<string, string>;
  groups: ReadonlyMap<string, string>;
}

/**
 * Department and group names, read again only once the database has changed (any write, by
 * anyone: see store/change_mark.ts), so a rename shows on the very next page. Shared between
 * callers: read it, never change it. `mark`: the change mark, when the caller read it already.
 */
export async function loadNames(db: Db, mark?: string | null): Promise<Names> {
  return await keptNames.get(db, "names", async () => {
    const [departments, groups] = await Promise.all([listDepartments(db), listGroups(db, "all")]);
    return {
      departments: new Map(departments.map((d) => [d.id, d.name])),
      groups: new Map(groups.map((g) => [g.id, g.name])),
    };
  }, mark);
}

const keptNames = new KeptUntilChange<Names>(1);

/** Everything the support session panel of a device page is made from, for one viewer at `now`. */
export interface PanelFacts {
  now: number;
  user: CurrentUser;
  device: Device;
  /** The device as the rules see it right now. */
  deviceView: ReturnType<SupportSessions["deviceView"]>;
  stored: StoredSession | undefined;
  /** The name of the technician who ended the last attempt, when it was one (not an approver). */
  decidedBy: string | null;
  /** The technician's account says to stay on the panel once a request is authorized. */
  staysOnPanel: boolean;
  /** The department's authorization policy (whether a reason is required). */
  authorization: AuthorizationPolicy;
  /** A Service Desk session's device: `live` while its code is neither closed nor expired. */
  attended?: { supportId: string; live: boolean; appRunning: boolean };
  /** A reason the technician typed and had refused: shown again with its error. */
  typedReason?: string;
}

/** Loads the facts of a device's support session panel for this viewer. */
export async function panelFacts(
  services: { sessions: SupportSessions; clock: Clock; db: Db },
  user: CurrentUser,
  device: Device,
  attended?: PanelFacts["attended"],
  typedReason?: string,
): Promise<PanelFacts> {
  const now = services.clock.now();
  const stored = await services.sessions.current(user, device.id);
  return {
    now,
    user,
    device,
    deviceView: services.sessions.deviceView(device),
    stored,
    decidedBy: stored ? await deciderName(services.db, stored.session, now, device) : null,
    staysOnPanel: await staysOnPanel(services.db, user.id),
    authorization: (await loadPolicies(services.db, device.department_id)).authorization,
    attended,
    typedReason,
  };
}

// Technicians are recorded by id; the panel shows their name (approvers are email addresses).
async function deciderName(
  db: Db,
  session: SupportSession,
  now: number,
  device: Device,
): Promise<string | null> {
  const view = sessionView(session, now, { deviceName: device.name });
  const by = view.kind === "unauthorized" ? view.outcome?.by : undefined;
  if (!by || by.includes("@")) return null;
  return (await findUser(db, by))?.name ?? null;
}
