/**
 * What devices say about support sessions: the end user's answer to a prompt, acknowledgements
 * of kept revokes and withdrawals, capabilities that changed, and the device going offline or
 * coming back (when pending prompts are shown again and live authorizations repeated). Each
 * becomes a transition of the session it belongs to.
 */
import {
  promptMessage,
  SUPPORT_PERMISSION_MESSAGE,
  type SupportSession,
  supportSessionTransition,
} from "../core/mod.ts";
import type { Logger } from "../lib/log.ts";
import type { Db } from "../store/db.ts";
import { acknowledgeDeviceMessage, acknowledgeRevokes } from "../store/device_messages.ts";
import { findDevice } from "../store/devices.ts";
import { loadPolicies } from "../store/policies.ts";
import {
  deviceSessionIds,
  loadPromptedSession,
  loadScopedSession,
  loadSession,
} from "../store/sessions.ts";
import type { AgentLink, Clock } from "./ports.ts";
import type { SessionTransitions } from "./session_transitions.ts";
import { SessionError } from "./errors.ts";
import type { Tx, UnitOfWork } from "./unit_of_work.ts";

/** What the device-event handler needs. */
export interface DeviceEventDeps {
  work: UnitOfWork;
  transitions: SessionTransitions;
  agents: AgentLink;
  clock: Clock;
  log: Logger;
}

/** Turns what devices say into session transitions. */
export class DeviceEvents {
  readonly #d: DeviceEventDeps;
  /** Answers and acknowledgements waiting for the next group's transaction, in arrival order. */
  readonly #waiting: GroupedWrite[] = [];
  #writing = false;

  constructor(deps: DeviceEventDeps) {
    this.#d = deps;
  }

  get #db(): Db {
    return this.#d.work.db;
  }

  /** Starts listening to the devices' connections. */
  start(): void {
    const fail = (err: unknown) => this.#d.log.error("support session event failed", { err });
    this.#d.agents.listen({
      online: (deviceId) => void this.#onDeviceOnline(deviceId).catch(fail),
      offline: (deviceId) => void this.#onDeviceOffline(deviceId).catch(fail),
      info: (deviceId, info) => void this.#onCapabilities(deviceId, info.capabilities).catch(fail),
      message: (deviceId, message) => {
        if (message.type === "prompt_answer") {
          this.#d.log.debug("prompt answer received", {
            deviceId,
            promptId: message.promptId,
            answer: message.answer,
          });
          void this.#onPromptAnswer(deviceId, message.promptId, message.answer, {
            granted: message.granted,
            windowMinutes: message.windowMinutes,
          }).catch(fail);
        } else if (message.type === "revoke_ack") {
          void this.#onRevokeAck(deviceId, message.sessionId).catch(fail);
        } else if (message.type === "ack") {
          void this.#onAck(deviceId, message.messageId).catch(fail);
        } else if (message.type === "end_session") {
          void this.#onEndSession(deviceId, message.sessionId, message.attemptId).catch(fail);
        }
      },
    });
  }

  #onPromptAnswer(
    deviceId: string,
    promptId: string,
    answer: "accept" | "decline",
    choice: { granted?: string[]; windowMinutes?: number | null } = {},
  ): Promise<void> {
    // One unit of work: which attempt the prompt belongs to, core's judgement and the record.
    return this.#grouped(async (tx) => {
      const now = tx.now;
      // Every prompt shown is recorded with its attempt, so core judges even an answer to a
      // superseded attempt or a closed session, and the record names both.
      const prompted = await loadPromptedSession(tx.db, deviceId, promptId);
      const shown = prompted ?? await this.#pendingPrompt(tx.db, deviceId, promptId);
      if (shown) {
        await this.#d.transitions.applyIn(tx, shown.sessionId, (s) =>
          supportSessionTransition(s, {
            type: "confirmation_answered",
            attemptId: shown.attemptId,
            promptId,
            answer,
            at: now,
            ...(choice.granted ? { granted: choice.granted } : {}),
            ...(choice.windowMinutes !== undefined ? { windowMinutes: choice.windowMinutes } : {}),
          }), prompted?.session);
        return;
      }
      await tx.audit({
        at: now,
        action: "answer.ignored",
        outcome: "withdrawn",
        actor: { kind: "end_user", label: deviceId },
        deviceId,
        detail: { promptId, answer, reason: "no session is waiting for this prompt" },
      });
    });
  }

  /**
   * End session at the device. A device can only end its own sessions: a session id of another
   * device is refused and recorded as if it did not exist, and core ends nothing but the
   * authorization of the attempt the indicator showed.
   */
  async #onEndSession(deviceId: string, sessionId: string, attemptId: string) {
    const now = this.#d.clock.now();
    const stored = await loadSession(this.#db, sessionId);
    if (stored?.session.deviceId === deviceId) {
      await this.#d.transitions.apply(
        sessionId,
        (s) => supportSessionTransition(s, { type: "end_from_device", attemptId, at: now }),
      );
      return;
    }
    const device = await findDevice(this.#db, deviceId);
    await this.#d.work.run((tx) =>
      tx.audit({
        at: now,
        action: "authorization.end_ignored",
        outcome: "not_allowed",
        actor: { kind: "agent", id: deviceId },
        deviceId,
        departmentId: device?.department_id ?? null,
        detail: { sessionId, attemptId, reason: "no session of this device has this id" },
      })
    );
  }

  /** A pending prompt shown before prompts were recorded (an upgrade while one was open). */
  async #pendingPrompt(db: Db, deviceId: string, promptId: string) {
    for (const id of await deviceSessionIds(db, deviceId, ["authorizing"])) {
      const stored = await loadSession(db, id);
      const status = stored?.session.status;
      if (status?.kind !== "authorizing") continue;
      const c = status.attempt.confirmation;
      if (c.kind === "pending" && c.promptId === promptId) {
        return { sessionId: id, attemptId: status.attempt.id };
      }
    }
    return undefined;
  }

  /** The device said what it can do now; a prompt it can no longer show ends its attempt. */
  async #onCapabilities(deviceId: string, capabilities: readonly string[]) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#db, deviceId, ["authorizing"])) {
      await this.#d.transitions.apply(
        id,
        (s) =>
          supportSessionTransition(s, { type: "capabilities_reported", capabilities, at: now }),
      );
    }
  }

  async #onDeviceOffline(deviceId: string) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#db, deviceId, ["authorizing", "authorized"])) {
      await this.#d.transitions.apply(
        id,
        (s) => supportSessionTransition(s, { type: "device_offline", at: now }),
      );
    }
  }

  /** A device (re)connected: show prompts still pending and repeat live authorizations. */
  async #onDeviceOnline(deviceId: string) {
    const now = this.#d.clock.now();
    for (const id of await deviceSessionIds(this.#db, deviceId, ["authorizing", "authorized"])) {
      const stored = await loadSession(this.#db, id);
      if (!stored) continue;
      const status = stored.session.status;
      if (status.kind === "authorizing" && status.attempt.confirmation.kind === "pending") {
        const device = await findDevice(this.#db, deviceId);
        const policies = device ? await loadPolicies(this.#db, device.department_id) : null;
        if (!policies) continue;
        const c = status.attempt.confirmation;
        const recorded = policies.recording.terminal === "on";
        this.#d.agents.send(deviceId, {
          type: "prompt",
          promptId: c.promptId,
          sessionId: id,
          // The same words as the first time, the recording notice included.
          message: promptMessage(
            device?.kind === "support" ? SUPPORT_PERMISSION_MESSAGE : policies.confirmation.message,
            recorded,
          ),
          technician: status.attempt.technicianName,
          asUser: stored.session.asUser,
          remainingMs: Math.max(0, c.deadline - now),
          onLockScreen: false,
          recorded,
          ...(c.asked ? { capabilities: c.asked } : {}),
          ...(c.windows ? { windows: c.windows } : {}),
        });
      } else if (status.kind === "authorized" && status.expiresAt > now) {
        this.#d.agents.send(deviceId, {
          type: "grant",
          sessionId: id,
          expiresAt: status.expiresAt,
          remainingMs: status.expiresAt - now,
        });
      }
    }
  }

  /** A version-1 agent's acknowledgement of every revoke of a session. */
  async #onRevokeAck(deviceId: string, sessionId: string) {
    const stored = await loadSession(this.#db, sessionId);
    if (!stored || stored.session.deviceId !== deviceId) return;
    const device = await findDevice(this.#db, deviceId);
    await this.#d.work.run(async (tx) => {
      await acknowledgeRevokes(tx.db, deviceId, sessionId);
      await tx.audit({
        action: "authorization.revoke_acknowledged",
        actor: { kind: "agent", id: deviceId },
        deviceId,
        sessionId,
        departmentId: device?.department_id ?? null,
      });
    });
    this.#d.transitions.publish(stored.session);
  }

  /** The agent carried out a kept message: it is not sent again, and the record says so. */
  #onAck(deviceId: string, messageId: string): Promise<void> {
    return this.#grouped(async (tx) => {
      const session = await this.#acknowledge(tx, deviceId, messageId);
      if (session) tx.afterCommit(() => this.#d.transitions.publish(session));
    });
  }

  /**
   * Runs `write` in a transaction it shares with the answers and acknowledgements that arrive
   * while the one before waits for the database (group commit, up to {@link GROUP}): each its
   * own rows and links of the audit chain, in the order they arrived, and what each leaves for
   * after the commit in that order too. A write that fails with a {@link SessionError} (core's
   * refusal, a session that is gone: both before it writes anything) fails alone; any other
   * error before the commit rolls the group's transaction back, and each of its writes is then
   * tried again in a transaction of its own, so that one fails alone too. An error after the
   * commit (in what runs after it) is each write's error, and none is written again.
   */
  #grouped(write: (tx: Tx) => Promise<void>): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#waiting.push({ write, done });
    if (!this.#writing) void this.#writeGroups();
    return done.promise;
  }

  async #writeGroups(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#waiting.length > 0) {
        let group: GroupedWrite[] = [];
        const failed = new Map<GroupedWrite, unknown>();
        let committed = false;
        try {
          await this.#d.work.run(async (tx) => {
            // Taken once the transaction has begun: whatever arrived while it waited joins it.
            group = this.#waiting.splice(0, GROUP);
            for (const item of group) {
              try {
                await item.write(tx);
              } catch (err) {
                if (!(err instanceof SessionError)) throw err;
                failed.set(item, err);
              }
            }
          }, () => void (committed = true));
          for (const item of group) {
            if (failed.has(item)) item.done.reject(failed.get(item));
            else item.done.resolve();
          }
        } catch (err) {
          if (committed) {
            // Written: what failed ran after the commit, and writing them again would record
            // each a second time (an answer judged twice).
            for (const item of group) item.done.reject(failed.get(item) ?? err);
          } else if (group.length > 1) {
            // One write's failure must not cost the others theirs: each is tried again alone.
            for (const item of group) await this.#alone(item);
          } else {
            // Failed alone, or before its group was taken (the transaction could not begin):
            // the group it would have taken fails with it, so the loop always moves on.
            if (group.length === 0) group = this.#waiting.splice(0, GROUP);
            for (const item of group) item.done.reject(err);
          }
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /** A write of a group that failed, in a transaction of its own: it fails or succeeds alone. */
  async #alone(item: GroupedWrite): Promise<void> {
    try {
      await this.#d.work.run((tx) => item.write(tx));
      item.done.resolve();
    } catch (err) {
      item.done.reject(err);
    }
  }

  /** One acknowledgement, in `tx`: the session it was about, when there is one. */
  async #acknowledge(
    tx: Tx,
    deviceId: string,
    messageId: string,
  ): Promise<SupportSession | undefined> {
    // Scoped to the device: an agent can only acknowledge what was sent to it.
    const kept = await acknowledgeDeviceMessage(tx.db, deviceId, messageId);
    if (!kept) return undefined;
    // The session it was about, with its device's department: read once, in this transaction.
    const scoped = kept.sessionId ? await loadScopedSession(tx.db, kept.sessionId) : undefined;
    const session = scoped?.stored.session;
    const departmentId = session?.deviceId === deviceId
      ? scoped!.departmentId
      : (await findDevice(tx.db, deviceId))?.department_id ?? null;
    await tx.audit({
      action: kept.kind === "revoke"
        ? "authorization.revoke_acknowledged"
        : kept.kind === "receipt"
        ? "receipt.acknowledged"
        : "confirmation.withdraw_acknowledged",
      actor: { kind: "agent", id: deviceId },
      deviceId,
      sessionId: kept.sessionId,
      attemptId: kept.attemptId,
      departmentId,
      detail: kept.message.type === "prompt_withdraw"
        ? { messageId, promptId: kept.message.promptId }
        : kept.message.type === "receipt"
        ? { messageId, receiptId: kept.message.receiptId }
        : { messageId },
    });
    return session;
  }
}

/** The most answers and acknowledgements written in one transaction. */
const GROUP = 32;

/** A device event's write waiting for its group's transaction. */
interface GroupedWrite {
  write: (tx: Tx) => Promise<void>;
  done: PromiseWithResolvers<void>;
}
