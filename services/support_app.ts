/**
 * The support app's handshake (R6), as the agent hub asks for it: a hello with a code and the
 * app's own key is checked for this computer without binding it (the end user sees whom they
 * would join), and the end user's yes binds the code to this computer, or rejoins it. Unknown
 * codes are counted per address (IPv6: per /64) with the download page's limit.
 */
import { type AppRunResult, supportCodeTransition, unknownSupportCodeResult } from "../core/mod.ts";
import { addressKey } from "../lib/net.ts";
import type { SecretBox } from "../lib/secret_box.ts";
import { CLOSE, SUPPORT_REFUSAL, supportRefusalKey, TIMING } from "../protocol/messages.ts";
import { findDevice } from "../store/devices.ts";
import { findSupportCodeByCode, saveAppSeen } from "../store/support_codes.ts";
import { findUser } from "../store/users.ts";
import { connectingDevice } from "./devices.ts";
import type {
  AttemptLimiter,
  Clock,
  ConnectingDevice,
  Refused,
  SupportAppGate,
  SupportAppHello,
} from "./ports.ts";
import type { SupportCodeTransitions } from "./support_code_transitions.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** What the support app's handshake needs. */
export interface SupportAppDeps {
  work: UnitOfWork;
  transitions: SupportCodeTransitions;
  clock: Clock;
  box: SecretBox;
  /** Unknown codes per address, shared with the download page. */
  guesses: AttemptLimiter;
  organization: () => string;
}

/** Checks and binds support codes for support apps, and knows which apps run now. */
export class SupportApps implements SupportAppGate {
  readonly #d: SupportAppDeps;
  /** Attended devices with a live support app, so an offline event needs no query. */
  readonly #running = new Set<string>();

  constructor(deps: SupportAppDeps) {
    this.#d = deps;
  }

  /** A support app said hello: checks the code for this computer without binding it yet. */
  async offer(hello: SupportAppHello): ReturnType<SupportAppGate["offer"]> {
    // The place is taken before the code is looked up: a burst of guesses gets at most the limit.
    const slot = await this.#d.guesses.reserve(addressKey(hello.address));
    if (!slot.ok) {
      return {
        ok: false,
        code: CLOSE.tooManyAttempts,
        reason: slot.message,
        key: SUPPORT_REFUSAL.tooManyAttempts,
      };
    }
    const { work, clock } = this.#d;
    const now = clock.now();
    const stored = await findSupportCodeByCode(work.db, hello.code);
    const app = { address: hello.address, platform: hello.platform, version: hello.version };
    if (!stored) {
      slot.fail();
      await work.run((tx) =>
        tx.audit({
          action: "support_code.rejected",
          outcome: "invalid_code",
          actor: { kind: "end_user", label: hello.address },
          detail: app,
        })
      );
      return refusal(unknownSupportCodeResult());
    }
    await slot.succeed();
    await work.run((tx) =>
      tx.audit({
        deviceId: stored.row.device_id,
        sessionId: stored.row.id,
        departmentId: stored.row.department_id,
        action: "support_code.app_started",
        actor: { kind: "end_user", label: hello.address },
        detail: app,
      })
    );
    const fingerprint = this.#fingerprint(hello.code, hello.key);
    const preview = supportCodeTransition(stored.state, {
      type: "app_run",
      fingerprint,
      at: now,
    }, { sessionId: stored.row.id });
    if (preview.run?.kind === "rejected") {
      // The refusal is a decision too (and may settle an expiry): it goes on the record,
      // decided again on the state as it is now (a close may have landed meanwhile).
      const t = await this.#d.transitions.apply(
        stored.row.id,
        (s, ctx) => supportCodeTransition(s, { type: "app_run", fingerprint, at: now }, ctx),
      );
      return refusal(t.run ?? preview.run);
    }
    this.#d.transitions.publish(stored.row.technician_id, stored.row.id);
    const technician = await findUser(work.db, stored.row.technician_id);
    return {
      ok: true,
      offer: {
        organization: this.#d.organization(),
        technician: technician?.name ?? "Your technician",
        customer: stored.row.customer_name,
        ticket: stored.row.ticket,
        expiresAt: stored.row.expires_at,
        rejoin: stored.state.kind === "bound",
        answerWithinMs: TIMING.supportOffer * 1000,
      },
    };
  }

  /** The end user agreed: binds the code to this computer (or rejoins) and names the device. */
  async join(hello: SupportAppHello): Promise<{ ok: true; device: ConnectingDevice } | Refused> {
    const { work, clock } = this.#d;
    const stored = await findSupportCodeByCode(work.db, hello.code);
    if (!stored) return refusal(unknownSupportCodeResult());
    const fingerprint = this.#fingerprint(hello.code, hello.key);
    const t = await this.#d.transitions.apply(
      stored.row.id,
      (s, ctx) => supportCodeTransition(s, { type: "app_run", fingerprint, at: clock.now() }, ctx),
    );
    if (t.run?.kind !== "joined") return refusal(t.run ?? unknownSupportCodeResult());
    const device = await findDevice(work.db, stored.row.device_id);
    if (!device) return refusal(unknownSupportCodeResult());
    // Only the computer the code works on is "the customer's app" on the technician's page.
    await saveAppSeen(work.db, stored.row.id, {
      address: hello.address,
      platform: hello.platform,
      at: clock.now(),
    });
    this.#running.add(device.id);
    return { ok: true, device: connectingDevice(device) };
  }

  /** Whether a support app that joined runs on this attended device. */
  isRunning(deviceId: string): boolean {
    return this.#running.has(deviceId);
  }

  /** The app on this device is gone (or told to go); true when it was running. */
  stopped(deviceId: string): boolean {
    return this.#running.delete(deviceId);
  }

  /** What the code binds to: derived from the app's own secret, which is never stored. */
  #fingerprint(code: string, key: string): string {
    return this.#d.box.mac(`support-fingerprint:${code}:${key}`);
  }
}

function refusal(result: AppRunResult): Refused {
  const key = result.kind === "rejected" ? supportRefusalKey(result.reason) : undefined;
  return { ok: false, code: CLOSE.supportRefused, reason: result.text, key };
}
