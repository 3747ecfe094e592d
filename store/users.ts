/** Users, their departments and their second factors. */
import type { Selectable } from "kysely";
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { Role, UsersTable } from "./schema.ts";

/** A user row as stored. */
export type UserRow = Selectable<UsersTable>;

/** Finds a user by email (stored lower-cased). */
export async function findUserByEmail(db: Db, email: string): Promise<UserRow | undefined> {
  return await db.selectFrom("users").selectAll().where("email", "=", email.toLowerCase())
    .executeTakeFirst();
}

/** Finds a user by id. */
export async function findUser(db: Db, id: string): Promise<UserRow | undefined> {
  return (await userById(db, { id }))[0];
}

const userById = compiled(
  ["id"],
  (db, p: { id: string }) => db.selectFrom("users").selectAll().where("id", "=", p.id),
);

/** Every user with the ids of their departments, by name. */
export async function listUsers(db: Db): Promise<(UserRow & { departmentIds: string[] })[]> {
  const users = await db.selectFrom("users").selectAll().orderBy("name").execute();
  const links = await db.selectFrom("user_departments").selectAll().execute();
  return users.map((u) => ({
    ...u,
    departmentIds: links.filter((l) => l.user_id === u.id).map((l) => l.department_id),
  }));
}

/** The department ids a user belongs to. */
export async function userDepartmentIds(db: Db, userId: string): Promise<string[]> {
  return (await departmentIdsOf(db, { userId })).map((r) => r.department_id);
}

const departmentIdsOf = compiled(
  ["userId"],
  (db, p: { userId: string }) =>
    db.selectFrom("user_departments").select("department_id").where("user_id", "=", p.userId),
);

/** Ids of the enabled departments a user belongs to. */
export async function enabledDepartmentIds(db: Db, userId: string): Promise<string[]> {
  return (await enabledDepartmentsOf(db, { userId })).map((r) => r.id);
}

const enabledDepartmentsOf = compiled(
  ["userId"],
  (db, p: { userId: string }) =>
    db.selectFrom("user_departments as ud")
      .innerJoin("departments as d", "d.id", "ud.department_id")
      .select("d.id").where("ud.user_id", "=", p.userId).where("d.disabled_at", "is", null),
);

/** Inserts a user; the caller has checked the email is free and hashed the password. */
export async function insertUser(
  db: Db,
  user: { id: string; email: string; name: string; role: Role; passwordHash: string; now: number },
): Promise<void> {
  await db.insertInto("users").values({
    id: user.id,
    email: user.email.toLowerCase(),
    name: user.name,
    role: user.role,
    password_hash: user.passwordHash,
    password_changed_at: user.now,
    disabled_at: null,
    totp_secret: null,
    totp_pending_secret: null,
    totp_enabled_at: null,
    totp_last_step: null,
    created_at: user.now,
    updated_at: user.now,
  }).execute();
}

/** Updates the given columns of a user and stamps `updated_at`. */
export async function updateUser(
  db: Db,
  id: string,
  changes: Partial<Omit<UserRow, "id" | "created_at" | "updated_at">>,
  now: number,
): Promise<void> {
  await db.updateTable("users").set({ ...changes, updated_at: now }).where("id", "=", id)
    .execute();
}

/** Replaces a user's department memberships. */
export async function setUserDepartments(db: Db, userId: string, ids: string[]): Promise<void> {
  await db.deleteFrom("user_departments").where("user_id", "=", userId).execute();
  if (ids.length > 0) {
    await db.insertInto("user_departments")
      .values([...new Set(ids)].map((department_id) => ({ user_id: userId, department_id })))
      .execute();
  }
}

/** How many enabled super admins exist (the last one may not be disabled or demoted). */
export async function countActiveSuperAdmins(db: Db): Promise<number> {
  const row = await db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("role", "=", "super_admin").where("disabled_at", "is", null)
    .executeTakeFirstOrThrow();
  return row.n;
}

/**
 * Accepts TOTP step `step` for a user only if it is newer than every step accepted before;
 * the conditional update makes the check and the write one atomic step, so two requests
 * racing with the same code cannot both succeed.
 */
export async function claimTotpStep(db: Db, userId: string, step: number): Promise<boolean> {
  const result = await db.updateTable("users").set({ totp_last_step: step })
    .where("id", "=", userId)
    .where((eb) => eb.or([eb("totp_last_step", "is", null), eb("totp_last_step", "<", step)]))
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** Replaces a user's recovery codes with new hashes. */
export async function replaceRecoveryCodes(
  db: Db,
  userId: string,
  hashes: string[],
  now: number,
): Promise<void> {
  await db.deleteFrom("recovery_codes").where("user_id", "=", userId).execute();
  if (hashes.length > 0) {
    await db.insertInto("recovery_codes").values(
      hashes.map((code_hash) => ({ user_id: userId, code_hash, used_at: null, created_at: now })),
    ).execute();
  }
}

/** Marks an unused recovery code used; true only for the one request that wins. */
export async function useRecoveryCode(
  db: Db,
  userId: string,
  hash: string,
  now: number,
): Promise<boolean> {
  const result = await db.updateTable("recovery_codes").set({ used_at: now })
    .where("user_id", "=", userId).where("code_hash", "=", hash).where("used_at", "is", null)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** How many unused recovery codes a user has left. */
export async function unusedRecoveryCodes(db: Db, userId: string): Promise<number> {
  const row = await db.selectFrom("recovery_codes").select((eb) => eb.fn.countAll<number>().as("n"))
    .where("user_id", "=", userId).where("used_at", "is", null).executeTakeFirstOrThrow();
  return row.n;
}

/** Whether the user stays on the device page when their request is authorized. */
export async function staysOnPanel(db: Db, userId: string): Promise<boolean> {
  const row = await db.selectFrom("users").select("stay_on_panel").where("id", "=", userId)
    .executeTakeFirst();
  return row?.stay_on_panel === 1;
}

/** Saves where the user goes when their request is authorized. */
export async function setStayOnPanel(
  db: Db,
  userId: string,
  stay: boolean,
  now: number,
): Promise<void> {
  await db.updateTable("users").set({ stay_on_panel: stay ? 1 : 0, updated_at: now })
    .where("id", "=", userId).execute();
}
