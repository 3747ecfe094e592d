/**
 * Terminal recordings. When a department's policy records terminals, every terminal channel of
 * its devices is written as asciicast v2 into the data directory while the server relays it;
 * when the channel ends the file's SHA-256 goes into the audit chain, so a recording changed
 * later no longer matches its record. Files past their retention are deleted on the scheduler
 * (the rows and the audit records stay). Only the technician who held the session and admins of
 * the device's department may watch one, and every viewing is audited.
 */
import { join } from "node:path";
import { CastWriter } from "../lib/asciicast.ts";
import type { Clock } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import { newId } from "../lib/tokens.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import { loadPolicies } from "../store/policies.ts";
import { findUser } from "../store/users.ts";
import {
  expiredRecordings,
  findRecording,
  finishRecording,
  insertRecording,
  markRecordingDeleted,
  nextRecordingExpiry,
  type RecordingRow,
} from "../store/recordings.ts";
import type { CurrentUser } from "./accounts.ts";
import { oversees } from "./audit_log.ts";
import { managedDepartments } from "./scope.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

const DAY_MS = 86_400_000;

/** A recording that cannot be made although the policy requires it. */
export class RecordingError extends Error {
  override name = "RecordingError";
}

/** A terminal being recorded, as the relay feeds it. */
export interface TerminalRecording {
  id: string;
  input(bytes: Uint8Array): void;
  output(bytes: Uint8Array): void;
  resize(cols: number, rows: number): void;
  /** Closes the file and puts its hash on the record; the detail for the channel's end. */
  finish(): Promise<Record<string, unknown>>;
}

/** Terminal recordings: making them, keeping them for their time, and showing them. */
export class Recordings {
  readonly name = "recording-retention";

  constructor(
    private deps: { db: Db; work: UnitOfWork; clock: Clock; log: Logger; dir: string | null },
  ) {}

  /** Whether terminals on devices of this department are recorded (the terminal page says so). */
  async recordsTerminals(departmentId: string): Promise<boolean> {
    return (await loadPolicies(this.deps.db, departmentId)).recording.terminal === "on";
  }

  /**
   * Starts recording a terminal channel when the device's department records terminals; null
   * when it does not. Throws when it must record and cannot, so the terminal does not open.
   */
  async begin(channel: {
    channel: string;
    sessionId: string;
    deviceId: string;
    technicianId: string;
  }): Promise<TerminalRecording | null> {
    const { db, work, clock, dir } = this.deps;
    const device = await findDevice(db, channel.deviceId);
    if (!device) return null;
    const policy = (await loadPolicies(db, device.department_id)).recording;
    if (policy.terminal !== "on") return null;
    if (dir === null) {
      throw new RecordingError("Terminals must be recorded here, and this server cannot record");
    }
    const id = newId();
    const startedAt = clock.now();
    let writer: CastWriter;
    try {
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      writer = CastWriter.create(join(dir, `${id}.cast`), {
        startedAt,
        width: 80,
        height: 24,
        title: device.name,
      });
    } catch (err) {
      this.deps.log.error("a terminal recording could not be started", { err });
      throw new RecordingError("Terminals must be recorded here, and the recording failed");
    }
    await insertRecording(db, {
      id,
      session_id: channel.sessionId,
      device_id: device.id,
      department_id: device.department_id,
      technician_id: channel.technicianId,
      channel: channel.channel,
      started_at: startedAt,
      delete_after: startedAt + policy.retentionDays * DAY_MS,
    });
    let finished: Promise<Record<string, unknown>> | null = null;
    return {
      id,
      input: (bytes) => writer.input(bytes, clock.now()),
      output: (bytes) => writer.output(bytes, clock.now()),
      resize: (cols, rows) => writer.resize(cols, rows, clock.now()),
      finish: () =>
        finished ??= (async () => {
          const { bytes, sha256 } = writer.close();
          const at = clock.now();
          await work.run(async (tx) => {
            await finishRecording(tx.db, id, { ended_at: at, bytes, sha256 });
            await tx.audit({
              at,
              action: "recording.saved",
              actor: { kind: "system" },
              deviceId: device.id,
              sessionId: channel.sessionId,
              departmentId: device.department_id,
              detail: { recording: id, sha256, bytes, durationMs: at - startedAt },
            });
          });
          return { recording: id, recordingSha256: sha256 };
        })(),
    };
  }

  /**
   * The recording `id` for `viewer`, its viewing recorded; null when there is none they may
   * watch (the technician who held the session, admins of its department, super admins).
   */
  async open(
    viewer: CurrentUser,
    id: string,
    how: "played" | "downloaded",
  ): Promise<{ row: RecordingRow; path: string } | null> {
    const { db, work, dir } = this.deps;
    const row = await findRecording(db, id);
    // Nothing to watch yet, or any more: no viewing to record either.
    if (!row || dir === null || row.ended_at === null || row.deleted_at !== null) return null;
    const may = oversees(viewer, await managedDepartments(db, viewer), {
      technicianId: row.technician_id,
      departmentId: row.department_id,
    });
    if (!may) return null;
    await work.run((tx) =>
      tx.audit({
        action: "recording.viewed",
        outcome: how,
        actor: { kind: "user", id: viewer.id, label: viewer.email },
        deviceId: row.device_id,
        sessionId: row.session_id,
        departmentId: row.department_id,
        detail: { recording: id },
      })
    );
    return { row, path: join(dir, `${id}.cast`) };
  }

  /**
   * The recording `id` as its page shows it, with the names of its device and technician;
   * null when there is none `viewer` may watch.
   */
  async describe(
    viewer: CurrentUser,
    id: string,
  ): Promise<
    { row: RecordingRow; deviceName: string | null; technicianName: string | null } | null
  > {
    const { db } = this.deps;
    const row = await findRecording(db, id);
    if (!row || !await this.mayWatch(viewer, row)) return null;
    const [device, technician] = await Promise.all([
      findDevice(db, row.device_id),
      findUser(db, row.technician_id),
    ]);
    return { row, deviceName: device?.name ?? null, technicianName: technician?.name ?? null };
  }

  /** Whether `viewer` may watch the recordings of a session. */
  async mayWatch(viewer: CurrentUser, row: RecordingRow): Promise<boolean> {
    return oversees(viewer, await managedDepartments(this.deps.db, viewer), {
      technicianId: row.technician_id,
      departmentId: row.department_id,
    });
  }

  async next(): Promise<number | null> {
    return await nextRecordingExpiry(this.deps.db);
  }

  /** Deletes the files of recordings past their retention; their records stay. */
  async runDue(now: number): Promise<void> {
    const { db, work, dir } = this.deps;
    for (const row of await expiredRecordings(db, now)) {
      if (dir !== null) {
        await Deno.remove(join(dir, `${row.id}.cast`)).catch((err) => {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        });
      }
      await work.run(async (tx) => {
        await markRecordingDeleted(tx.db, row.id, now);
        await tx.audit({
          at: now,
          action: "recording.deleted",
          outcome: "expired",
          actor: { kind: "system" },
          deviceId: row.device_id,
          sessionId: row.session_id,
          departmentId: row.department_id,
          detail: { recording: row.id, sha256: row.sha256 },
        });
      });
    }
  }
}
