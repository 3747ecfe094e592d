/**
 * Webhooks for ticketing tools: super admins add receivers (URL, secret, events); events are
 * queued with the audit rows they report (store/audit.ts) and delivered from here, signed, with
 * retries and backoff on the scheduler's clock. A webhook that keeps failing is disabled with a
 * notice on its page. Secrets are sealed at rest and shown once, when generated.
 */
import type { Clock, TimerHandle } from "../lib/clock.ts";
import type { Logger } from "../lib/log.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import { newId, randomToken } from "../lib/tokens.ts";
import { signWebhook } from "../lib/webhook_signature.ts";
import {
  afterAttempt,
  isWebhookEvent,
  WEBHOOK_DISABLE_AFTER,
  WEBHOOK_TEST_EVENT,
  WEBHOOK_TIMEOUT_MS,
  type WebhookEvent,
} from "../core/webhook_events.ts";
import type { Db } from "../store/db.ts";
import {
  deleteWebhook,
  type DeliveryRow,
  disableWebhook,
  dueDeliveries,
  enableWebhook,
  enqueueDelivery,
  findWebhook,
  findWebhookByUrl,
  insertWebhook,
  listWebhooks,
  nextDeliveryAt,
  recentDeliveries,
  recordAttempt,
  setFailureStreak,
  updateWebhook,
  type WebhookRow,
} from "../store/webhooks.ts";
import type { DeadlineSource, Scheduler } from "../lib/scheduler.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** A webhook request the admin must correct, or a webhook that does not exist. */
export class WebhookError extends Error {
  override name = "WebhookError";
  constructor(readonly status: 400 | 404, message: string, readonly field?: string) {
    super(message);
  }
}

/** A webhook as the pages show it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  createdAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
  failuresInARow: number;
}

/** One delivery in a webhook's log. */
export interface DeliveryView {
  id: number;
  event: string;
  status: DeliveryRow["status"];
  attempts: number;
  createdAt: number;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  responseCode: number | null;
  lastError: string | null;
}

/** Who is acting, for the audit log. */
export interface WebhookActor {
  id: string;
  label: string;
}

const SECRET_MIN = 24;
const BATCH = 20;
const POLL_MS = 1000;

function view(row: WebhookRow): WebhookView {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events),
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
    disabledReason: row.disabled_reason,
    failuresInARow: row.failures_in_a_row,
  };
}

/** Checks a receiver URL: absolute http(s), no credentials in it, not absurdly long. */
export function webhookUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Enter an absolute URL such as https://tickets.example.com/hooks/assent";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return "A webhook URL must start with https:// or http://";
  }
  if (url.username || url.password) {
    return "Put no user name or password in the URL; receivers check the signature instead";
  }
  if (text.length > 2000) return "That URL is too long";
  return null;
}

/**
 * What is wrong with a webhook as given (URL, events, a secret of the admin's own, empty for a
 * generated one), tied to its field; null when nothing is.
 */
export function webhookInputProblem(
  input: { url: string; events: string[]; secret: string },
): WebhookError | null {
  const [field, problem] = Object.entries(webhookInputProblems(input))[0] ?? [];
  return field && problem ? new WebhookError(400, problem, field) : null;
}

/** Every problem of a webhook as given, by field (`url`, `events`, `secret`), so forms show all. */
export function webhookInputProblems(
  input: { url: string; events: string[]; secret: string },
): Record<string, string> {
  const problems: Record<string, string> = {};
  const problem = webhookUrlProblem(input.url);
  if (problem) problems.url = problem;
  const unknown = input.events.find((e) => !isWebhookEvent(e));
  if (input.events.length === 0) problems.events = "Choose at least one event";
  else if (unknown) problems.events = `"${unknown}" is not a webhook event`;
  if (input.secret !== "" && input.secret.length < SECRET_MIN) {
    problems.secret =
      `A secret must be at least ${SECRET_MIN} characters; leave it empty to have one made`;
  }
  return problems;
}

/** The origin of a URL, which is all the log says about a receiver (paths may hold secrets). */
function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(invalid)";
  }
}

/**
 * An error message without the receiver's path and query (a network error may quote the whole
 * URL), cut to a length a delivery log and a log line can carry.
 */
export function redactUrl(message: string, url: string): string {
  let out = message;
  try {
    const u = new URL(url);
    for (const secretPart of [url, u.href, `${u.pathname}${u.search}`, u.search]) {
      if (secretPart.length > 1) {
        out = out.replaceAll(secretPart, secretPart === u.search ? "" : u.origin);
      }
    }
  } catch {
    // Not a URL: nothing of it to find in the message.
  }
  return out.slice(0, 200);
}

/** The webhook service. */
export class Webhooks implements DeadlineSource {
  readonly name = "webhooks";
  #poll?: TimerHandle;
  #polling: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    private deps: {
      db: Db;
      /** Where each change is saved with its audit record, in one transaction. */
      work: UnitOfWork;
      clock: Clock;
      log: Logger;
      box: SecretBox;
      scheduler: Scheduler;
      fetch?: typeof fetch;
    },
  ) {
    deps.scheduler.add(this);
  }

  /**
   * Watches for deliveries other transactions queued (any audit row may queue one) and wakes
   * the scheduler for them.
   */
  start(): void {
    this.#stopped = false;
    const tick = () => {
      if (this.#stopped) return;
      this.#polling = this.next().then((at) => {
        // Only the node that keeps the deadlines needs to look; the others would only forward
        // the same deadline to it every second.
        if (at !== null && this.deps.scheduler.leading) this.deps.scheduler.wake(at);
      }).catch(() => {}).finally(() => {
        if (!this.#stopped) this.#poll = this.deps.clock.at(this.deps.clock.now() + POLL_MS, tick);
      });
    };
    tick();
  }

  /** Resolves when the latest look at the queue is done (tests, after moving a fake clock). */
  settled(): Promise<void> {
    return this.#polling;
  }

  /** Stops watching. */
  stop(): void {
    this.#stopped = true;
    this.#poll?.cancel();
  }

  /** Every webhook. */
  async list(): Promise<WebhookView[]> {
    return (await listWebhooks(this.deps.db)).map(view);
  }

  /** One webhook and its newest deliveries. */
  async get(id: string): Promise<{ webhook: WebhookView; deliveries: DeliveryView[] }> {
    const row = await findWebhook(this.deps.db, id);
    if (!row) throw new WebhookError(404, "There is no such webhook");
    const deliveries = (await recentDeliveries(this.deps.db, id)).map((d) => ({
      id: d.id,
      event: d.event,
      status: d.status,
      attempts: d.attempts,
      createdAt: d.created_at,
      lastAttemptAt: d.last_attempt_at,
      nextAttemptAt: d.next_attempt_at,
      responseCode: d.response_code,
      lastError: d.last_error,
    }));
    return { webhook: view(row), deliveries };
  }

  /**
   * Adds a webhook. With no secret given, one is generated; either way the secret is returned
   * only here, once.
   */
  async create(
    input: { url: string; events: string[]; secret?: string },
    actor: WebhookActor,
  ): Promise<{ webhook: WebhookView; secret: string; generated: boolean }> {
    const url = input.url.trim();
    const events = [...new Set(input.events)];
    const given = input.secret?.trim() ?? "";
    const problem = webhookInputProblem({ url, events, secret: given });
    if (problem) throw problem;
    const secret = given || `whsec_${randomToken(32)}`;
    const id = newId();
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      await insertWebhook(tx.db, {
        id,
        url,
        secretSealed: this.deps.box.seal(secret),
        events,
        now,
        createdBy: actor.id,
      });
      await tx.audit({
        at: now,
        action: "webhook.created",
        actor: { kind: "user", id: actor.id, label: actor.label },
        detail: { webhookId: id, receiver: origin(url), events },
      });
    });
    const row = (await findWebhook(this.deps.db, id))!;
    return { webhook: view(row), secret, generated: given === "" };
  }

  /**
   * Creates or updates (by URL) the webhooks declared in the configuration file, audited as the
   * system acting on that file. A webhook already as declared is left alone, so a restart
   * writes nothing; a changed secret or event list is replaced; enabling stays the admins' call.
   */
  async provision(declared: { url: string; events: string[]; secret: string }[]): Promise<void> {
    for (const [i, input] of declared.entries()) {
      const events = [...new Set(input.events)];
      const problem = webhookInputProblem({ ...input, events });
      if (problem) throw new WebhookError(400, problem.message, `webhooks[${i + 1}]`);
    }
    const actor = { kind: "system" as const, label: "configuration file" };
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      for (const input of declared) {
        const events = [...new Set(input.events)];
        const existing = await findWebhookByUrl(tx.db, input.url);
        if (!existing) {
          const id = newId();
          await insertWebhook(tx.db, {
            id,
            url: input.url,
            secretSealed: this.deps.box.seal(input.secret),
            events,
            now,
            createdBy: null,
          });
          await tx.audit({
            at: now,
            action: "webhook.created",
            actor,
            detail: { webhookId: id, receiver: origin(input.url), events },
          });
          continue;
        }
        const secretChanged = this.deps.box.open(existing.secret_sealed) !== input.secret;
        const eventsChanged = existing.events !== JSON.stringify(events);
        if (!secretChanged && !eventsChanged) continue;
        await updateWebhook(tx.db, existing.id, {
          events,
          secretSealed: secretChanged ? this.deps.box.seal(input.secret) : undefined,
        });
        await tx.audit({
          at: now,
          action: "webhook.updated",
          actor,
          detail: { webhookId: existing.id, receiver: origin(input.url), events, secretChanged },
        });
      }
    });
  }

  /** Removes a webhook and everything waiting for it. */
  async delete(id: string, actor: WebhookActor): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      const row = await findWebhook(tx.db, id);
      if (!row || !await deleteWebhook(tx.db, id)) {
        throw new WebhookError(404, "There is no such webhook");
      }
      await tx.audit({
        at: now,
        action: "webhook.deleted",
        actor: { kind: "user", id: actor.id, label: actor.label },
        detail: { webhookId: id, receiver: origin(row.url) },
      });
    });
  }

  /** Turns a webhook on or off by hand. */
  async setEnabled(id: string, enabled: boolean, actor: WebhookActor): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      if (!await findWebhook(tx.db, id)) throw new WebhookError(404, "There is no such webhook");
      const changed = enabled
        ? await enableWebhook(tx.db, id)
        : await disableWebhook(tx.db, id, `Disabled by ${actor.label}`, now);
      if (!changed) return;
      await tx.audit({
        at: now,
        action: enabled ? "webhook.enabled" : "webhook.disabled",
        actor: { kind: "user", id: actor.id, label: actor.label },
        detail: { webhookId: id },
      });
    });
  }

  /** Queues a test event to one webhook and delivers it at once. */
  async sendTest(id: string, actor: WebhookActor): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      const row = await findWebhook(tx.db, id);
      if (!row) throw new WebhookError(404, "There is no such webhook");
      if (row.disabled_at !== null) {
        throw new WebhookError(400, "Enable the webhook before sending it a test event");
      }
      const payload = JSON.stringify({
        id: crypto.randomUUID(),
        event: WEBHOOK_TEST_EVENT,
        occurredAt: new Date(now).toISOString(),
        actor: { kind: "user", id: actor.id, name: actor.label },
        message: "A test event from Assent",
      });
      await enqueueDelivery(tx.db, id, WEBHOOK_TEST_EVENT, payload, now);
      await tx.audit({
        at: now,
        action: "webhook.test_sent",
        actor: { kind: "user", id: actor.id, label: actor.label },
        detail: { webhookId: id },
      });
    });
    this.deps.scheduler.wake(now);
  }

  async next(): Promise<number | null> {
    return await nextDeliveryAt(this.deps.db);
  }

  async runDue(now: number): Promise<void> {
    for (;;) {
      const due = await dueDeliveries(this.deps.db, now, BATCH);
      for (const delivery of due) await this.#attempt(delivery);
      if (due.length < BATCH || this.#stopped) return;
    }
  }

  async #attempt(delivery: DeliveryRow): Promise<void> {
    const webhook = await findWebhook(this.deps.db, delivery.webhook_id);
    if (!webhook || webhook.disabled_at !== null) return;
    let ok = false;
    let responseCode: number | null = null;
    let error: string | null = null;
    try {
      const secret = this.deps.box.open(webhook.secret_sealed);
      const timestamp = Math.floor(this.deps.clock.now() / 1000);
      const res = await (this.deps.fetch ?? fetch)(webhook.url, {
        method: "POST",
        redirect: "manual",
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "Assent-Webhooks/1",
          "X-Assent-Event": delivery.event,
          "X-Assent-Delivery": String(delivery.id),
          "X-Assent-Timestamp": String(timestamp),
          "X-Assent-Signature": signWebhook(secret, timestamp, delivery.payload),
        },
        body: delivery.payload,
      });
      await res.body?.cancel();
      responseCode = res.status;
      ok = res.status >= 200 && res.status < 300;
      if (!ok) error = `The receiver answered ${res.status}`;
    } catch (err) {
      error = err instanceof DOMException && err.name === "TimeoutError"
        ? `No answer within ${WEBHOOK_TIMEOUT_MS / 1000} seconds`
        : `Could not reach the receiver: ${redactUrl((err as Error).message, webhook.url)}`;
    }
    const now = this.deps.clock.now();
    await this.deps.work.run(async (tx) => {
      const streak = await setFailureStreak(tx.db, webhook.id, ok ? "reset" : "increment");
      const verdict = afterAttempt({
        ok,
        attempts: delivery.attempts + 1,
        failuresInARow: streak,
        now,
      });
      await recordAttempt(tx.db, delivery.id, {
        status: verdict.delivery === "retry" ? "pending" : verdict.delivery,
        now,
        nextAttemptAt: verdict.delivery === "retry" ? verdict.nextAttemptAt : null,
        responseCode,
        error,
      });
      if (verdict.delivery !== "delivered" && verdict.disableWebhook) {
        const reason = `Disabled after ${WEBHOOK_DISABLE_AFTER} failed deliveries in a row; ` +
          `the last: ${error}`;
        if (await disableWebhook(tx.db, webhook.id, reason, now)) {
          await tx.audit({
            at: now,
            action: "webhook.disabled",
            outcome: "failing",
            actor: { kind: "system" },
            detail: { webhookId: webhook.id, receiver: origin(webhook.url), reason: error },
          });
        }
      }
    });
    if (!ok) {
      this.deps.log.warn("webhook delivery failed", {
        webhookId: webhook.id,
        receiver: origin(webhook.url),
        delivery: delivery.id,
        status: responseCode,
        error,
      });
    }
  }
}

/** The events a webhook may subscribe to, for the form. */
export type { WebhookEvent };
