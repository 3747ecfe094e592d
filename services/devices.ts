/**
 * Devices as the rest of the server sees them: enrollment with admin-issued tokens, device
 * credentials (only hashes stored), and who may see which device.
 */
import type { Clock } from "../lib/clock.ts";
import { verifyDeviceSignature } from "../lib/device_key.ts";
import { hashToken, newId, randomToken, safeEqual } from "../lib/tokens.ts";
import { type DeviceInfo, helloProofMessage, type KeyProof } from "../protocol/messages.ts";
import { type PathStyle, pathStyleOf, type ReachRoot, reachRoots } from "../core/mod.ts";
import { loadPolicies } from "../store/policies.ts";
import type { AuditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import {
  claimEnrollmentUse,
  type Device,
  findDevice,
  findEnrollmentTokenByHash,
  insertDevice,
  insertEnrollmentToken,
  registerDeviceKey,
} from "../store/devices.ts";
import { listDepartments } from "../store/departments.ts";

export type { Device };
import { enabledDepartmentIds } from "../store/users.ts";
import type { CurrentUser } from "./accounts.ts";
import type { Clock as ClockPort, ConnectingDevice, DeviceAuthentication } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Why an enrollment token was refused, and what the agent prints. */
export const ENROLLMENT_REFUSALS = {
  unknown: "The enrollment token is not valid",
  expired: "The enrollment token has expired",
  used_up: "The enrollment token has been used up",
  revoked: "The enrollment token has been revoked",
  bad_key: "The enrollment must be signed with the new device's key",
} as const;

/** A refused enrollment. */
export type EnrollmentRefusal = keyof typeof ENROLLMENT_REFUSALS;

/** Prefix that makes enrollment tokens recognisable in logs and scripts. */
export const ENROLLMENT_PREFIX = "enr_";

/** Creates an enrollment token; returns the token, shown once (only its hash is kept). */
export async function createEnrollmentToken(
  work: UnitOfWork,
  input: {
    label: string;
    departmentId: string;
    groupId: string | null;
    expiresAt: number;
    maxUses: number;
    now: number;
  },
  actor: AuditRecord["actor"],
): Promise<{ id: string; token: string }> {
  const token = ENROLLMENT_PREFIX + randomToken();
  const id = newId();
  await work.run(async (tx) => {
    await insertEnrollmentToken(tx.db, {
      id,
      token_hash: hashToken(token),
      label: input.label,
      department_id: input.departmentId,
      group_id: input.groupId,
      expires_at: input.expiresAt,
      max_uses: input.maxUses,
      created_by: actor.label ?? actor.id ?? null,
      created_at: input.now,
    });
    await tx.audit({
      at: input.now,
      action: "enrollment_token.created",
      actor,
      departmentId: input.departmentId,
      detail: { token: id, label: input.label, maxUses: input.maxUses, expiresAt: input.expiresAt },
    });
  });
  return { id, token };
}

/** Whether `proof` is the signature of this connection's challenge for `deviceId`. */
export function proofHolds(
  proof: KeyProof,
  nonce: string,
  deviceId: string | null,
): boolean {
  return verifyDeviceSignature(
    proof.publicKey,
    proof.signature,
    helloProofMessage(nonce, deviceId),
  );
}

/**
 * Enrolls a device with a token: checks it and the new device's key proof, counts one use
 * atomically, creates the device with its public key and a secret. The secret is returned
 * once for the agent to keep.
 */
export async function enrollDevice(
  work: UnitOfWork,
  clock: Clock,
  input: { token: string; name: string; ip: string; proof: KeyProof; nonce: string },
): Promise<
  | { ok: true; device: Device; secret: string }
  | { ok: false; reason: EnrollmentRefusal }
> {
  const now = clock.now();
  const db = work.db;
  const row = input.token.startsWith(ENROLLMENT_PREFIX)
    ? await findEnrollmentTokenByHash(db, hashToken(input.token))
    : undefined;
  const refuse = async (reason: EnrollmentRefusal) => {
    await work.run((tx) =>
      tx.audit({
        at: now,
        action: "device.enrollment_refused",
        outcome: reason,
        actor: { kind: "agent", label: input.ip },
        departmentId: row?.department_id ?? null,
        detail: { token: row?.id ?? null, ip: input.ip },
      })
    );
    return { ok: false as const, reason };
  };
  if (!row) return await refuse("unknown");
  if (row.revoked_at !== null) return await refuse("revoked");
  if (row.expires_at <= now) return await refuse("expired");
  // Checked before a use is counted: a bad signature costs the token nothing.
  if (!proofHolds(input.proof, input.nonce, null)) return await refuse("bad_key");
  const secret = randomToken();
  const id = newId();
  const created = await work.run(async (tx) => {
    if (!(await claimEnrollmentUse(tx.db, row.id, now))) return false;
    await insertDevice(tx.db, {
      id,
      secretHash: hashToken(secret),
      publicKey: input.proof.publicKey,
      departmentId: row.department_id,
      groupId: row.group_id,
      name: input.name,
      tokenId: row.id,
      now,
    });
    await tx.audit({
      at: now,
      action: "device.enrolled",
      actor: { kind: "agent", id, label: input.name },
      deviceId: id,
      departmentId: row.department_id,
      detail: { token: row.id, ip: input.ip },
    });
    return true;
  });
  if (!created) return await refuse("used_up");
  return { ok: true, device: (await findDevice(db, id))!, secret };
}

/** Why a device hello was refused. */
export type DeviceRefusal = "bad_credential" | "disabled" | "bad_key";

/**
 * Checks a device's hello: the secret (compared by hash in constant time), then the key
 * proof against this connection's `nonce`. The secret alone is not enough: the signature
 * must verify with the key the device registered. A device enrolled before keys existed has
 * none; its first hello with a valid proof registers that key, once, audited as
 * `device.key_registered`, and from then on only that key will do.
 */
export async function authenticateDevice(
  work: UnitOfWork,
  clock: Clock,
  input: {
    deviceId: string;
    secret: string;
    proof: KeyProof | undefined;
    nonce: string;
    ip: string;
  },
): Promise<
  | { ok: true; device: Device }
  | { ok: false; reason: DeviceRefusal; device: Device | null; detail?: string }
> {
  const db = work.db;
  const device = await findDevice(db, input.deviceId);
  if (
    !device || device.kind !== "agent" || !safeEqual(device.secret_hash, hashToken(input.secret))
  ) {
    return { ok: false, reason: "bad_credential", device: null };
  }
  if (device.disabled_at !== null) return { ok: false, reason: "disabled", device };
  const proof = input.proof;
  if (!proof) return { ok: false, reason: "bad_key", device, detail: "no key proof" };
  if (device.public_key !== null && device.public_key !== proof.publicKey) {
    return { ok: false, reason: "bad_key", device, detail: "another key" };
  }
  if (!proofHolds(proof, input.nonce, device.id)) {
    return { ok: false, reason: "bad_key", device, detail: "bad signature" };
  }
  if (device.public_key !== null) return { ok: true, device };
  const now = clock.now();
  const registered = await work.run(async (tx) => {
    if (!(await registerDeviceKey(tx.db, device.id, proof.publicKey, now))) return false;
    await tx.audit({
      at: now,
      action: "device.key_registered",
      actor: { kind: "agent", id: device.id, label: device.name },
      deviceId: device.id,
      departmentId: device.department_id,
      detail: { ip: input.ip, publicKey: proof.publicKey },
    });
    return true;
  });
  // Two first hellos at once: the key registered first is the device's; the other is not.
  const fresh = (await findDevice(db, device.id))!;
  if (!registered && fresh.public_key !== proof.publicKey) {
    return { ok: false, reason: "bad_key", device: fresh, detail: "another key" };
  }
  return { ok: true, device: fresh };
}

/**
 * What file transfer may reach on a device: its department's policy applied to the folders
 * its agent reported, in the device's path style.
 */
export async function fileReach(
  db: Db,
  device: Pick<Device, "department_id" | "os_family" | "transfer_folders">,
): Promise<{ roots: ReachRoot[]; style: PathStyle }> {
  const policy = (await loadPolicies(db, device.department_id)).fileTransfer;
  const style = pathStyleOf(device.os_family);
  return { roots: reachRoots(policy, device.transfer_folders, style), style };
}

/**
 * What is stored about a device's machine, in the shape the agent reports it, so the hub can
 * skip a report that changes nothing; null before the first report.
 */
export function deviceReport(device: Device): DeviceInfo | null {
  if (!device.os) return null;
  return {
    name: device.name,
    serialNumber: device.serial_number,
    os: device.os,
    osFamily: device.os_family as DeviceInfo["osFamily"],
    model: device.model,
    deviceType: device.device_type as DeviceInfo["deviceType"],
    ipAddresses: device.ip_addresses,
    users: device.users,
    locked: device.locked,
    loggedOff: device.logged_off,
    capabilities: device.capabilities as DeviceInfo["capabilities"],
    ...(device.local_email_authorization
      ? { emailAuthorization: device.local_email_authorization }
      : {}),
    ...(device.transfer_folders ? { transferFolders: device.transfer_folders } : {}),
  };
}

/** A device as the hub holds it once its hello is accepted. */
export function connectingDevice(device: Device): ConnectingDevice {
  return { id: device.id, departmentId: device.department_id, info: deviceReport(device) };
}

/** Enrollment and device credentials for the agent protocol. */
export class DeviceCredentials implements DeviceAuthentication {
  readonly #d: { work: UnitOfWork; clock: ClockPort };

  constructor(deps: { work: UnitOfWork; clock: ClockPort }) {
    this.#d = deps;
  }

  /** Enrolls a new device with a token (see {@link enrollDevice}). */
  async enroll(
    input: Parameters<DeviceAuthentication["enroll"]>[0],
  ): ReturnType<DeviceAuthentication["enroll"]> {
    const result = await enrollDevice(this.#d.work, this.#d.clock, input);
    if (!result.ok) {
      return {
        ok: false,
        reason: result.reason,
        keyRefused: result.reason === "bad_key",
        message: ENROLLMENT_REFUSALS[result.reason],
      };
    }
    return { ok: true, device: connectingDevice(result.device), secret: result.secret };
  }

  /** Checks a device's hello (see {@link authenticateDevice}). */
  async authenticate(
    input: Parameters<DeviceAuthentication["authenticate"]>[0],
  ): ReturnType<DeviceAuthentication["authenticate"]> {
    const result = await authenticateDevice(this.#d.work, this.#d.clock, input);
    if (result.ok) return { ok: true, device: connectingDevice(result.device) };
    return {
      ok: false,
      reason: result.reason,
      device: result.device && { id: result.device.id, departmentId: result.device.department_id },
      ...(result.detail ? { detail: result.detail } : {}),
    };
  }
}

/** The enabled departments whose devices `user` may see and act on, by name. */
export async function departmentChoices(
  db: Db,
  user: CurrentUser,
): Promise<{ id: string; name: string }[]> {
  const visible = await visibleDepartments(db, user);
  return (await listDepartments(db))
    .filter((d) => d.disabled_at === null && canSee(visible, d.id))
    .map((d) => ({ id: d.id, name: d.name }));
}

/** Departments whose devices `user` may see and act on: super admins see every one. */
export async function visibleDepartments(db: Db, user: CurrentUser): Promise<string[] | "all"> {
  if (user.role === "super_admin") return "all";
  return await enabledDepartmentIds(db, user.id);
}

/**
 * Whether `user` may see `device`: it is in one of their departments, and when it is a
 * Service Desk customer's computer, they are the technician who invited the customer.
 */
export async function canSeeDevice(
  db: Db,
  user: CurrentUser,
  device: { id: string; department_id: string; kind: string },
): Promise<boolean> {
  if (!canSee(await visibleDepartments(db, user), device.department_id)) return false;
  if (device.kind === "agent") return true;
  const code = await db.selectFrom("support_codes").select("technician_id")
    .where("device_id", "=", device.id).executeTakeFirst();
  return code?.technician_id === user.id;
}

/** Whether `departments` (from {@link visibleDepartments}) includes `departmentId`. */
export function canSee(departments: string[] | "all", departmentId: string): boolean {
  return departments === "all" || departments.includes(departmentId);
}

/** The state of a token as the list shows it. */
export function tokenState(
  t: { revoked_at: number | null; expires_at: number; uses: number; max_uses: number },
  now: number,
): "active" | "expired" | "used up" | "revoked" {
  if (t.revoked_at !== null) return "revoked";
  if (t.expires_at <= now) return "expired";
  if (t.uses >= t.max_uses) return "used up";
  return "active";
}
