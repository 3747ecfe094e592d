/** The nodes sharing this database: who runs, where others reach it, and its newest beat. */
import type { Db } from "./db.ts";

/** A registered node as the others see it. */
export interface NodeRow {
  id: string;
  internalUrl: string;
  heartbeatAt: number;
}

/** Registers a node that has just started (or comes back after being held dead). */
export async function registerNode(
  db: Db,
  node: { id: string; internalUrl: string; now: number },
): Promise<void> {
  await db.insertInto("nodes").values({
    id: node.id,
    internal_url: node.internalUrl,
    started_at: node.now,
    heartbeat_at: node.now,
  }).onConflict((oc) => oc.column("id").doUpdateSet({ heartbeat_at: node.now })).execute();
}

/** Records a node's beat; false when its row is gone (another node held it dead). */
export async function beatNode(db: Db, id: string, now: number): Promise<boolean> {
  const result = await db.updateTable("nodes").set({ heartbeat_at: now }).where("id", "=", id)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** A node leaves: it stopped and let its connections go. */
export async function removeNode(db: Db, id: string): Promise<void> {
  await db.deleteFrom("nodes").where("id", "=", id).execute();
}

/** Every registered node. */
export async function listNodes(db: Db): Promise<NodeRow[]> {
  const rows = await db.selectFrom("nodes").select(["id", "internal_url", "heartbeat_at"])
    .orderBy("id").execute();
  return rows.map((r) => ({
    id: r.id,
    internalUrl: r.internal_url,
    heartbeatAt: Number(r.heartbeat_at),
  }));
}

/** Removes the nodes but `self` whose newest beat is `deadBefore` or older; returns how many. */
export async function removeDeadNodes(db: Db, self: string, deadBefore: number): Promise<number> {
  const result = await db.deleteFrom("nodes").where("heartbeat_at", "<=", deadBefore)
    .where("id", "<>", self).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Removes every node but `id`: on a server that is the database's only node, they are stale. */
export async function removeOtherNodes(db: Db, id: string): Promise<void> {
  await db.deleteFrom("nodes").where("id", "<>", id).execute();
}

/**
 * Removes the nodes but `self` registered at `internalUrl`: no two live nodes share an address,
 * so such a node is a former run of this one (restarted after a crash).
 */
export async function removeNodesAt(db: Db, internalUrl: string, self: string): Promise<void> {
  await db.deleteFrom("nodes").where("internal_url", "=", internalUrl).where("id", "<>", self)
    .execute();
}
