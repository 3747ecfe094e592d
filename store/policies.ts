/**
 * Department policies (Session Confirmation, Secure Connect, authorization lifetime, what file
 * transfer may reach) and their exclusions. Values are checked by core's constructors on the way in and out, so a
 * policy read from the database is always a valid one.
 */
import {
  type AuthorizationPolicy,
  authorizationPolicy,
  type ConfirmationPolicy,
  confirmationPolicy,
  type FileTransferPolicy,
  fileTransferPolicy,
  type RecordingPolicy,
  recordingPolicy,
  type SecureConnectPolicy,
  secureConnectPolicy,
} from "../core/mod.ts";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";

/** The policies of one department. */
export interface DepartmentPolicies {
  confirmation: ConfirmationPolicy;
  secureConnect: SecureConnectPolicy;
  authorization: AuthorizationPolicy;
  fileTransfer: FileTransferPolicy;
  recording: RecordingPolicy;
}

/** One exclusion as the settings table shows it. */
export interface Exclusion {
  id: number;
  policy: "confirmation" | "secure_connect";
  targetKind: "device" | "group";
  targetId: string;
  excludedBy: string;
  createdAt: number;
}

/** Loads a department's policies; defaults where none were saved. */
export async function loadPolicies(db: Db, departmentId: string): Promise<DepartmentPolicies> {
  const [row] = await policiesOf(db, { departmentId });
  const exclusions = await listExclusions(db, departmentId);
  const ids = (policy: Exclusion["policy"], kind: Exclusion["targetKind"]) =>
    exclusions.filter((e) => e.policy === policy && e.targetKind === kind).map((e) => e.targetId);
  return {
    confirmation: confirmationPolicy({
      ...(row ? JSON.parse(row.confirmation) : {}),
      excludedDeviceIds: ids("confirmation", "device"),
      excludedGroupIds: ids("confirmation", "group"),
    }),
    secureConnect: secureConnectPolicy({
      ...(row ? JSON.parse(row.secure_connect) : {}),
      excludedDeviceIds: ids("secure_connect", "device"),
    }),
    authorization: authorizationPolicy(row ? JSON.parse(row.authorization) : {}),
    fileTransfer: fileTransferPolicy(row ? JSON.parse(row.file_transfer) : {}),
    recording: recordingPolicy(row?.recording ? JSON.parse(row.recording) : {}),
  };
}

/** Saves a department's policies (exclusions are saved separately). */
export async function savePolicies(
  db: Db,
  departmentId: string,
  policies: DepartmentPolicies,
  by: string,
  now: number,
): Promise<void> {
  const strip = <T extends object>(p: T, ...keys: string[]) =>
    JSON.stringify(Object.fromEntries(Object.entries(p).filter(([k]) => !keys.includes(k))));
  const values = {
    confirmation: strip(policies.confirmation, "excludedDeviceIds", "excludedGroupIds"),
    secure_connect: strip(policies.secureConnect, "excludedDeviceIds"),
    authorization: JSON.stringify(policies.authorization),
    file_transfer: JSON.stringify(policies.fileTransfer),
    recording: JSON.stringify(policies.recording),
    updated_at: now,
    updated_by: by,
  };
  await db.insertInto("department_policies").values({ department_id: departmentId, ...values })
    .onConflict((oc) => oc.column("department_id").doUpdateSet(values)).execute();
}

/** A department's exclusions, oldest first. */
export async function listExclusions(db: Db, departmentId: string): Promise<Exclusion[]> {
  const rows = await exclusionsOf(db, { departmentId });
  return rows.map((r) => ({
    id: r.id,
    policy: r.policy,
    targetKind: r.target_kind,
    targetId: r.target_id,
    excludedBy: r.excluded_by,
    createdAt: r.created_at,
  }));
}

/** Adds an exclusion; false when it already existed. */
export async function addExclusion(
  db: Db,
  e: {
    departmentId: string;
    policy: Exclusion["policy"];
    targetKind: Exclusion["targetKind"];
    targetId: string;
    by: string;
    now: number;
  },
): Promise<boolean> {
  const r = await db.insertInto("policy_exclusions").values({
    department_id: e.departmentId,
    policy: e.policy,
    target_kind: e.targetKind,
    target_id: e.targetId,
    excluded_by: e.by,
    created_at: e.now,
  }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
  return (r.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

/** Removes an exclusion of a department; returns it, or undefined when there was none. */
export async function removeExclusion(
  db: Db,
  departmentId: string,
  id: number,
): Promise<Exclusion | undefined> {
  const found = (await listExclusions(db, departmentId)).find((e) => e.id === id);
  if (!found) return undefined;
  await db.deleteFrom("policy_exclusions").where("id", "=", id).execute();
  return found;
}

const policiesOf = compiled(
  ["departmentId"],
  (db, p: { departmentId: string }) =>
    db.selectFrom("department_policies").selectAll().where("department_id", "=", p.departmentId),
);

const exclusionsOf = compiled(
  ["departmentId"],
  (db, p: { departmentId: string }) =>
    db.selectFrom("policy_exclusions").selectAll().where("department_id", "=", p.departmentId)
      .orderBy("id"),
);
