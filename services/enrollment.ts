/**
 * Enrollment tokens and device groups as admins manage them, within the departments they see:
 * the admin pages and the console (`assent admin enroll-token …`) call the same use cases with
 * the same checks. A token's secret is shown once, when it is created, and stored hashed.
 */
import * as z from "zod";
import type { Clock } from "../lib/clock.ts";
import { newId } from "../lib/tokens.ts";
import type { Db } from "../store/db.ts";
import { listDepartments } from "../store/departments.ts";
import {
  type DeviceGroupRow,
  findEnrollmentToken,
  findGroup,
  insertGroup,
  listEnrollmentTokens,
  listGroups,
  revokeEnrollmentToken,
} from "../store/devices.ts";
import { actorOf, type Operator } from "./directory.ts";
import { canSee, createEnrollmentToken, tokenState, visibleDepartments } from "./devices.ts";
import { parseWith, text } from "./fields.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** The longest a token may stay usable. */
export const MAX_TOKEN_LIFETIME_MS = 366 * 86_400_000;

/** A new token's fields, checked the same for the admin page and the console. */
export const TokenFields = z.object({
  label: text("Label", 100),
  departmentId: z.string({ error: "Choose a department" }).min(1, "Choose a department").max(100),
  groupId: z.string().max(100).nullable().default(null),
  expiresInMs: z.number({ error: "Choose when the token expires" }).int()
    .min(1, "Choose when the token expires")
    .max(MAX_TOKEN_LIFETIME_MS, "A token may live at most a year"),
  maxUses: z.number({ error: "Number of uses must be a number" })
    .int("Number of uses must be a whole number")
    .min(1, "Number of uses must be at least 1")
    .max(100_000, "Number of uses must be at most 100000"),
});

/** A new group's fields. */
export const GroupFields = z.object({ name: text("Group name", 100) });

/** A refusal with the status to answer and a sentence to show. */
export class EnrollmentError extends Error {
  override name = "EnrollmentError";
  constructor(readonly status: 400 | 403 | 404, message: string) {
    super(message);
  }
}

/** A token as the lists show it (never its secret). */
export interface TokenItem {
  id: string;
  label: string;
  department: string;
  group: string | null;
  uses: number;
  maxUses: number;
  expiresAt: number;
  state: "active" | "expired" | "used up" | "revoked";
  createdBy: string | null;
}

/** Enrollment tokens and device groups bound to the operator's departments. */
export class Enrollment {
  readonly #d: { db: Db; clock: Clock; work: UnitOfWork };

  constructor(deps: { db: Db; clock: Clock; work: UnitOfWork }) {
    this.#d = deps;
  }

  /** The tokens of the departments the operator sees, newest first. */
  async tokens(viewer: Operator): Promise<TokenItem[]> {
    const { db, clock } = this.#d;
    const visible = await visibleDepartments(db, viewer);
    const names = new Map((await listDepartments(db)).map((d) => [d.id, d.name]));
    const groups = new Map((await listGroups(db, visible)).map((g) => [g.id, g.name]));
    const now = clock.now();
    return (await listEnrollmentTokens(db, visible)).map((t) => ({
      id: t.id,
      label: t.label,
      department: names.get(t.department_id) ?? "—",
      group: t.group_id ? groups.get(t.group_id) ?? null : null,
      uses: t.uses,
      maxUses: t.max_uses,
      expiresAt: t.expires_at,
      state: tokenState(t, now),
      createdBy: t.created_by,
    }));
  }

  /** The enabled departments the operator may enroll into, and their groups. */
  async formOptions(viewer: Operator): Promise<{
    departments: { id: string; name: string }[];
    groups: { id: string; name: string; departmentId: string }[];
  }> {
    const db = this.#d.db;
    const visible = await visibleDepartments(db, viewer);
    const departments = (await listDepartments(db))
      .filter((d) => d.disabled_at === null && canSee(visible, d.id))
      .map((d) => ({ id: d.id, name: d.name }));
    const ids = new Set(departments.map((d) => d.id));
    const groups = (await listGroups(db, visible)).filter((g) => ids.has(g.department_id))
      .map((g) => ({ id: g.id, name: g.name, departmentId: g.department_id }));
    return { departments, groups };
  }

  /** Creates a token for a department the operator sees; its secret is returned once. */
  async createToken(
    viewer: Operator,
    fields: z.input<typeof TokenFields>,
  ): Promise<{ id: string; token: string }> {
    const input = checked(TokenFields, fields);
    const { db, work, clock } = this.#d;
    if (!canSee(await visibleDepartments(db, viewer), input.departmentId)) {
      throw new EnrollmentError(403, "You cannot enroll devices in that department");
    }
    const groupId = input.groupId || null;
    if (groupId) {
      const group = await findGroup(db, groupId);
      if (!group || group.department_id !== input.departmentId) {
        throw new EnrollmentError(400, "That group is not in the chosen department");
      }
    }
    const now = clock.now();
    return await createEnrollmentToken(work, {
      label: input.label,
      departmentId: input.departmentId,
      groupId,
      expiresAt: now + input.expiresInMs,
      maxUses: input.maxUses,
      now,
    }, actorOf(viewer));
  }

  /** Revokes a token of a department the operator sees; a revoked token stays revoked. */
  async revokeToken(viewer: Operator, id: string): Promise<{ label: string }> {
    const { db, work } = this.#d;
    const token = await findEnrollmentToken(db, id);
    if (!token || !canSee(await visibleDepartments(db, viewer), token.department_id)) {
      throw new EnrollmentError(404, "No such enrollment token");
    }
    await work.run(async ({ db: trx, now, audit }) => {
      await revokeEnrollmentToken(trx, token.id, now);
      await audit({
        action: "enrollment_token.revoked",
        actor: actorOf(viewer),
        departmentId: token.department_id,
        detail: { token: token.id, label: token.label },
      });
    });
    return { label: token.label };
  }

  /** The groups of a department the operator sees. */
  async groups(viewer: Operator, departmentId: string): Promise<DeviceGroupRow[]> {
    const db = this.#d.db;
    if (!canSee(await visibleDepartments(db, viewer), departmentId)) {
      throw new EnrollmentError(404, "No such department");
    }
    return await listGroups(db, [departmentId]);
  }

  /** Creates a device group in a department the operator sees; names are unique per department. */
  async createGroup(
    viewer: Operator,
    departmentId: string,
    fields: z.input<typeof GroupFields>,
  ): Promise<string> {
    await this.groups(viewer, departmentId);
    const { name } = checked(GroupFields, fields);
    const id = newId();
    await this.#d.work.run(async ({ db: trx, now, audit }) => {
      // Checked in the transaction, so two creations at once cannot both pass.
      const names = (await listGroups(trx, [departmentId])).map((g) => g.name.toLowerCase());
      if (names.includes(name.toLowerCase())) {
        throw new EnrollmentError(400, `A group named "${name}" already exists in this department`);
      }
      await insertGroup(trx, { id, department_id: departmentId, name, created_at: now });
      await audit({
        action: "device_group.created",
        actor: actorOf(viewer),
        departmentId,
        detail: { group: id, name },
      });
    });
    return id;
  }

  /** A group of a department the operator sees, with its department's name and device count. */
  async group(viewer: Operator, id: string): Promise<{
    group: DeviceGroupRow;
    department: string;
    devices: number;
  }> {
    const db = this.#d.db;
    const group = await findGroup(db, id);
    if (!group || !canSee(await visibleDepartments(db, viewer), group.department_id)) {
      throw new EnrollmentError(404, "No such group");
    }
    const department = (await listDepartments(db)).find((d) => d.id === group.department_id);
    const devices = await db.selectFrom("devices").select((eb) => eb.fn.countAll<number>().as("n"))
      .where("group_id", "=", group.id).executeTakeFirstOrThrow();
    return { group, department: department?.name ?? "", devices: devices.n };
  }
}

function checked<S extends z.ZodType>(schema: S, fields: unknown): z.infer<S> {
  const result = parseWith(schema, fields);
  if (!result.ok) throw new EnrollmentError(400, result.message);
  return result.data;
}
