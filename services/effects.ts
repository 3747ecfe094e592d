/**
 * The one interpreter of core's effects, in its two phases:
 *
 * - {@link EffectRecorder} runs inside the transaction that saves the new state: audit events
 *   become audit rows (through the store's one mapper), what a device must hear even when it is
 *   away is kept, every prompt shown is recorded with its attempt, and approval mail goes into
 *   the outbox with the decision that caused it, or not at all;
 * - {@link EffectRunner} runs after the commit: messages to agents, channels closed, mail
 *   delivered, the deadline timer woken.
 *
 * Support sessions, support codes, Secure Connect and the records of agent connections all
 * go through these two; nothing else interprets an effect.
 */
import type { Effect, ReasonCode, SupportSession } from "../core/mod.ts";
import { reasonText } from "../core/mod.ts";
import type { Logger } from "../lib/log.ts";
import { newId } from "../lib/tokens.ts";
import { appendAudit, type AuditRecord, auditRecord } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import type { Device } from "../store/devices.ts";
import {
  type DurableMessage,
  findPrompt,
  keepDeviceMessage,
  recordPrompt,
  type StoredDeviceMessage,
} from "../store/device_messages.ts";
import type { AgentLink, ChannelCloser, Clock, MailDelivery, Wakeup } from "./ports.ts";

/** Where effects belong, for what they do not say themselves. */
export interface EffectScope {
  departmentId: string | null;
  /** The session the effects are about, as it was before the transition. */
  session?: SupportSession;
  /** That session's device, when the use case has loaded it already. */
  device?: Device;
  /** Audit rows without a session of their own are recorded under this one. */
  sessionId?: string;
  /** Audit rows without a device of their own are recorded under this one. */
  deviceId?: string;
}

/** Messages kept for devices, by the effect that asked for them. */
export type KeptMessages = Map<Effect, DurableMessage>;

/** Email authorization's side of a transition, written in the same transaction. */
export interface ApprovalMailQueue {
  /** Mints the recipient's link and queues the mail. */
  queue(db: Db, effect: Extract<Effect, { type: "send_email" }>, now: number): Promise<void>;
  /** Stops the attempt's links from working and cancels mail not yet sent. */
  withdraw(db: Db, attemptId: string, now: number): Promise<void>;
}

/** Consent receipts: begun in the transaction that ended the authorization, completed after. */
export interface ReceiptBook {
  /**
   * Writes the receipt of the authorization `effect` ends: pending, or complete when nothing of
   * the session's channels is left to record, audited through `tx` and shown once it commits.
   */
  begin(
    db: Db,
    effect: Extract<Effect, { type: "issue_receipt" }>,
    now: number,
    known: { session?: SupportSession; device?: Device },
    tx: ReceiptTx,
  ): Promise<void>;
  /** Completes it once every channel's end is on record, then mails and shows it. */
  complete(effect: Extract<Effect, { type: "issue_receipt" }>): Promise<void>;
}

/** What a receipt begun in a transaction may do in it. */
export interface ReceiptTx {
  /** Appends an audit record in the transaction. */
  audit(record: AuditRecord): Promise<void>;
  /** Runs `fn` once the transaction has committed. */
  afterCommit(fn: () => void): void;
}

/** The in-transaction phase. */
export class EffectRecorder {
  readonly #d: { log: Logger; mail: ApprovalMailQueue; receipts?: ReceiptBook };

  constructor(deps: { log: Logger; mail: ApprovalMailQueue; receipts?: ReceiptBook }) {
    this.#d = deps;
  }

  /**
   * Writes what `effects` leave on the record, inside the transaction `db`; what must wait for
   * the commit beyond the effects themselves goes to `afterCommit`.
   */
  async record(
    db: Db,
    effects: Effect[],
    scope: EffectScope,
    now: number,
    afterCommit: (fn: () => void) => void,
  ): Promise<KeptMessages> {
    for (const effect of effects) {
      if (effect.type !== "audit") continue;
      await appendAudit(db, auditRecord(effect.event, scope));
    }
    const kept = await this.#keepForDevice(db, effects, scope, now);
    for (const effect of effects) {
      if (effect.type === "send_email") await this.#d.mail.queue(db, effect, now);
      else if (effect.type === "withdraw_email") {
        await this.#d.mail.withdraw(db, effect.attemptId, now);
      } else if (effect.type === "issue_receipt") {
        await this.#d.receipts?.begin(db, effect, now, scope, {
          audit: (record) => appendAudit(db, record),
          afterCommit,
        });
      }
    }
    return kept;
  }

  /**
   * What the device must hear whether or not it is connected now is kept in the same
   * transaction as the change that caused it, and every prompt is recorded with its attempt.
   */
  async #keepForDevice(
    db: Db,
    effects: Effect[],
    scope: EffectScope,
    now: number,
  ): Promise<KeptMessages> {
    const kept: KeptMessages = new Map();
    const dropped: StoredDeviceMessage[] = [];
    const before = scope.session;
    for (const effect of effects) {
      let message: DurableMessage;
      let attemptId: string | null = null;
      if (effect.type === "show_prompt") {
        await recordPrompt(db, {
          id: effect.promptId,
          deviceId: effect.deviceId,
          sessionId: effect.sessionId,
          attemptId: effect.attemptId,
          now,
        });
        continue;
      } else if (effect.type === "revoke_on_device") {
        message = { type: "revoke", sessionId: effect.sessionId, reason: effect.reason };
        attemptId = before?.status.kind === "authorized" ? before.status.attemptId : null;
      } else if (effect.type === "withdraw_prompt") {
        message = { type: "prompt_withdraw", promptId: effect.promptId, reason: effect.reason };
        attemptId = (await findPrompt(db, effect.deviceId, effect.promptId))?.attemptId ?? null;
      } else continue;
      const result = await keepDeviceMessage(db, {
        id: newId(),
        deviceId: effect.deviceId,
        message,
        sessionId: before?.id ?? null,
        attemptId,
        now,
      });
      kept.set(effect, result.message);
      dropped.push(...result.dropped);
    }
    if (dropped.length > 0) {
      this.#d.log.warn("a device acknowledges nothing: its oldest kept messages were dropped", {
        deviceId: dropped[0]!.deviceId,
        dropped: dropped.length,
      });
    }
    for (const d of dropped) await appendAudit(db, droppedRecord(d, scope.departmentId, now));
    return kept;
  }
}

/** The record of a kept message a device's full queue dropped (see keepDeviceMessage). */
export function droppedRecord(
  d: StoredDeviceMessage,
  departmentId: string | null,
  now: number,
): AuditRecord {
  return {
    at: now,
    action: "device.messages_dropped",
    actor: { kind: "system" },
    deviceId: d.deviceId,
    sessionId: d.sessionId,
    attemptId: d.attemptId,
    departmentId,
    detail: { messageId: d.id, type: d.kind },
  };
}

/** What runs once the transaction has committed. */
export interface AfterCommit {
  carryOut(effects: Effect[], kept: KeptMessages): void;
}

/** Writes to agent connections have no after-commit effects: the hub closes its own sockets. */
export const NOTHING_AFTER_COMMIT: AfterCommit = Object.freeze({ carryOut() {} });

/** The after-commit phase. */
export class EffectRunner implements AfterCommit {
  readonly #d: {
    clock: Clock;
    agents: AgentLink;
    channels: ChannelCloser;
    mail: MailDelivery;
    wakeup: Wakeup;
    receipts?: ReceiptBook;
    log?: Logger;
  };

  constructor(
    deps: {
      clock: Clock;
      agents: AgentLink;
      channels: ChannelCloser;
      mail: MailDelivery;
      wakeup: Wakeup;
      receipts?: ReceiptBook;
      log?: Logger;
    },
  ) {
    this.#d = deps;
  }

  /** Carries out `effects` in order; kept messages go out with the id they were kept under. */
  carryOut(effects: Effect[], kept: KeptMessages = new Map()): void {
    const { agents, clock } = this.#d;
    const now = clock.now();
    for (const effect of effects) {
      switch (effect.type) {
        case "show_prompt":
          // With the answer's line (device_events.ts), how long the prompt was at the device.
          this.#d.log?.debug("prompt sent", {
            deviceId: effect.deviceId,
            promptId: effect.promptId,
          });
          agents.send(effect.deviceId, {
            type: "prompt",
            promptId: effect.promptId,
            sessionId: effect.sessionId,
            message: effect.message,
            technician: effect.technicianName,
            asUser: effect.asUser,
            remainingMs: Math.max(0, effect.deadline - now),
            onLockScreen: effect.onLockScreen,
            recorded: effect.recorded,
            ...(effect.capabilities ? { capabilities: effect.capabilities } : {}),
            ...(effect.windows ? { windows: effect.windows } : {}),
          });
          break;
        case "withdraw_prompt":
          // Offline now: it is kept, and sent after the device's next welcome.
          agents.send(
            effect.deviceId,
            kept.get(effect) ??
              { type: "prompt_withdraw", promptId: effect.promptId, reason: effect.reason },
          );
          break;
        case "notify_device":
          agents.send(effect.deviceId, { type: "notify", text: effect.text });
          break;
        case "grant_on_device":
          agents.send(effect.deviceId, {
            type: "grant",
            sessionId: effect.sessionId,
            expiresAt: effect.expiresAt,
            remainingMs: Math.max(0, effect.expiresAt - now),
          });
          break;
        case "revoke_on_device":
          agents.send(
            effect.deviceId,
            kept.get(effect) ??
              { type: "revoke", sessionId: effect.sessionId, reason: effect.reason },
          );
          break;
        case "close_channels":
          this.#d.channels.closeSession(
            effect.sessionId,
            effect.reason,
            channelsClosedText(effect.reason),
          );
          break;
        case "send_email":
          this.#d.mail.kick();
          break;
        case "wake_at":
          this.#d.wakeup.wake(effect.at);
          break;
        case "issue_receipt":
          // After close_channels above, so the receipt waits for those channels' records (one
          // completed in its transaction is found complete, and left as it is).
          this.#d.receipts?.complete(effect).catch((err) =>
            this.#d.log?.error("a consent receipt could not be completed", { err })
          );
          break;
        case "withdraw_email":
        case "close_connection":
        case "audit":
          // Written in the transaction; a connection is closed by the hub that holds it.
          break;
      }
    }
  }
}

/** What the browser shows as the reason its terminal, desktop or transfer ended. */
export function channelsClosedText(reason: ReasonCode): string {
  switch (reason) {
    case "expired":
      return "The authorization expired";
    case "device_offline":
      return "Unable to connect to the device";
    case "access_revoked":
      return "Your access to this device was withdrawn";
    case "app_closed":
    case "session_closed":
    case "ended_at_device":
      return reasonText(reason);
    default:
      return "The support session was deauthorized";
  }
}
