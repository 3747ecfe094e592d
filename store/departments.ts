/** Departments: the unit of access for technicians and of policy for devices. */
import type { Db } from "./db.ts";
import { compiled } from "./compiled.ts";
import type { DepartmentsTable } from "./schema.ts";

/** A department row as stored. */
export type DepartmentRow = DepartmentsTable;

/** All departments by name, enabled and disabled. */
export async function listDepartments(db: Db): Promise<DepartmentRow[]> {
  return await allDepartments(db, {});
}

// Every signed-in page names departments: built once (see compiled.ts).
const allDepartments = compiled(
  [],
  (db) => db.selectFrom("departments").selectAll().orderBy("name"),
);

/** Finds a department by id. */
export async function findDepartment(db: Db, id: string): Promise<DepartmentRow | undefined> {
  return await db.selectFrom("departments").selectAll().where("id", "=", id).executeTakeFirst();
}

/** Finds a department by name, ignoring case. */
export async function findDepartmentByName(
  db: Db,
  name: string,
): Promise<DepartmentRow | undefined> {
  return await db.selectFrom("departments").selectAll()
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase())).executeTakeFirst();
}

/** Inserts a department. */
export async function insertDepartment(
  db: Db,
  dept: { id: string; name: string; now: number },
): Promise<void> {
  await db.insertInto("departments").values({
    id: dept.id,
    name: dept.name,
    disabled_at: null,
    created_at: dept.now,
    updated_at: dept.now,
  }).execute();
}

/** Updates a department's name or disabled state. */
export async function updateDepartment(
  db: Db,
  id: string,
  changes: Partial<Pick<DepartmentRow, "name" | "disabled_at">>,
  now: number,
): Promise<void> {
  await db.updateTable("departments").set({ ...changes, updated_at: now }).where("id", "=", id)
    .execute();
}

/** Number of users per department id. */
export async function memberCounts(db: Db): Promise<Map<string, number>> {
  const rows = await db.selectFrom("user_departments")
    .select(["department_id", (eb) => eb.fn.countAll<number>().as("n")])
    .groupBy("department_id").execute();
  return new Map(rows.map((r) => [r.department_id, r.n]));
}
