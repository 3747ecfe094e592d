/** The singleton row that says first-run setup is done, and the organization's name. */
import type { Db } from "./db.ts";
import type { Selectable } from "kysely";
import type { InstanceTable } from "./schema.ts";

/** The instance row, or undefined before first-run setup. */
export async function getInstance(db: Db): Promise<Selectable<InstanceTable> | undefined> {
  return await db.selectFrom("instance").selectAll().where("id", "=", 1).executeTakeFirst();
}

/**
 * Marks setup complete. Returns false when it already was: the insert is the lock, so two
 * racing setup requests cannot both create a super admin.
 */
export async function completeSetup(
  db: Db,
  organizationName: string,
  now: number,
): Promise<boolean> {
  const result = await db.insertInto("instance")
    .values({ id: 1, organization_name: organizationName, setup_completed_at: now })
    .onConflict((oc) => oc.column("id").doNothing()).executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) === 1n;
}

/** Renames the organization. */
export async function renameOrganization(db: Db, name: string): Promise<void> {
  await db.updateTable("instance").set({ organization_name: name }).where("id", "=", 1).execute();
}

/** Sets the organization's default language. */
export async function setDefaultLocale(db: Db, locale: string): Promise<void> {
  await db.updateTable("instance").set({ default_locale: locale }).where("id", "=", 1).execute();
}

/**
 * Records the fingerprint of key `name` if the database has none yet, and returns the one it
 * holds: the first server's, or this one's when it is the first.
 */
export async function claimKeyFingerprint(
  db: Db,
  name: string,
  fingerprint: string,
  now: number,
): Promise<string> {
  await db.insertInto("instance_keys").values({ name, fingerprint, recorded_at: now })
    .onConflict((oc) => oc.column("name").doNothing()).execute();
  const row = await db.selectFrom("instance_keys").select("fingerprint").where("name", "=", name)
    .executeTakeFirstOrThrow();
  return row.fingerprint;
}
