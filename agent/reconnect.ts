/** Reconnecting with full-jitter exponential backoff until told to stop. */
import { type Clock, systemClock } from "../lib/clock.ts";
import type { AgentOptions } from "./options.ts";
import { AgentStopped, type ComeBack, DeviceDisabled } from "./connection.ts";

/** Full-jitter exponential backoff: a random delay up to min(max, base · 2^attempt). */
export function backoffDelay(attempt: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, 1000 * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling) + 250;
}

/**
 * The wait after a stopping server said when to come back: a random moment within its window,
 * so the fleet it had returns spread out over the time the server asked for.
 */
export function comeBackDelay(comeBack: ComeBack, random = Math.random): number {
  return Math.floor(comeBack.afterMs + random() * comeBack.withinMs);
}

/** A connection that stayed up this long was a working one: the backoff starts over. */
export const LASTED_MS = 30_000;

/**
 * The longest wait, `elapsedMs` after a server gave its window: the window itself for a
 * restart's time (three windows, at least 10 s), then twice as long for each such span more,
 * so a server that is up but cannot keep up with its fleet is not knocked at for ever by all
 * of it at the rate it asked for. Null without a window.
 */
export function windowCeiling(windowMs: number | null, elapsedMs: number): number | null {
  if (windowMs === null) return null;
  const span = Math.max(3 * windowMs, 10_000);
  return windowMs * 2 ** Math.min(16, Math.floor(Math.max(0, elapsedMs) / span));
}

/** How long a disabled device waits before asking again by default: about three minutes. */
export const DISABLED_RETRY_MS = 180_000;

/**
 * The wait of a disabled device: `everyMs` give or take half, so a fleet disabled at once does
 * not come back at one instant.
 */
export function disabledDelay(everyMs: number, random = Math.random): number {
  return Math.floor(everyMs * (0.5 + random()));
}

/**
 * Calls `connect` again and again, with backoff in between, until it resolves false or
 * `signal` aborts. A connection that resolves with a {@link ComeBack} (its server stopped on
 * purpose, or a lasting connection was lost without a word and its welcome gave a window) is
 * tried again when the server asked, and the backoff starts over, never waiting longer than
 * the server's window until a connection lasts again. A fatal refusal ({@link AgentStopped}) ends it by propagating; a disabled
 * device ({@link DeviceDisabled}) keeps asking, at the slow pace of `disabledRetryMs`.
 */
export async function reconnecting(
  connect: () => Promise<boolean | ComeBack>,
  options: Pick<AgentOptions, "log" | "maxBackoffMs"> & {
    /** Told before each wait: why the last connection ended (null: it closed), and for how long. */
    onRetry?: (failure: string | null, delayMs: number) => void;
    /** How often a disabled device asks again; default {@link DISABLED_RETRY_MS}. */
    disabledRetryMs?: number;
    /** What the waits are timed by; default the system clock. */
    clock?: Clock;
    random?: () => number;
  },
  signal?: AbortSignal,
): Promise<void> {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  let attempt = 0;
  // After a stopping server said when to come back: the longest wait while it is not up yet.
  // It asked for its fleet spread over that window; waiting longer only makes the storm last.
  let restartCeiling: number | null = null;
  let windowSince = 0;
  while (!signal?.aborted) {
    const started = clock.now();
    let failure: string | null = null;
    let disabled = false;
    let comeBack: ComeBack | null = null;
    try {
      const result = await connect();
      if (result === false) return;
      if (result !== true) comeBack = result;
    } catch (err) {
      if (err instanceof AgentStopped) throw err;
      disabled = err instanceof DeviceDisabled;
      failure = err instanceof Error ? err.message : String(err);
      if (!disabled) options.log(`connection failed: ${failure}`);
    }
    if (signal?.aborted) return;
    // A connection that lasted a while resets the backoff.
    // So does a server that said when to come back: it is expected up again by then.
    const lasted = clock.now() - started > LASTED_MS;
    // A lasting connection lost without a word (a crash): the whole fleet lost it at once, so
    // it comes back spread over the window its welcome gave. One cut soon after it began is
    // no such storm, and backs off as usual, so a flapping server is not knocked at ever faster.
    if (comeBack?.unannounced && !lasted) comeBack = null;
    // A server too busy for the handshake said when it has room: that is when this agent comes
    // back, and nothing else changes (its backoff and window stay as they were).
    const busy = comeBack?.busy === true;
    if (!busy) {
      attempt = comeBack || lasted ? 0 : attempt + 1;
      if (comeBack) {
        restartCeiling = Math.max(1000, comeBack.withinMs);
        windowSince = clock.now();
      } else if (lasted) restartCeiling = null;
    }
    const delay = disabled
      ? disabledDelay(options.disabledRetryMs ?? DISABLED_RETRY_MS, random)
      : comeBack
      ? comeBackDelay(comeBack, random)
      : backoffDelay(
        attempt,
        Math.min(
          options.maxBackoffMs,
          windowCeiling(restartCeiling, clock.now() - windowSince) ?? Infinity,
        ),
        random,
      );
    const seconds = (delay / 1000).toFixed(1);
    options.log(
      disabled
        ? `this device is disabled by an admin; asking again in ${seconds} s`
        : busy
        ? `the server is busy; reconnecting in ${seconds} s, when it has room`
        : comeBack?.unannounced
        ? `the connection was lost; reconnecting in ${seconds} s, within the server's window`
        : comeBack
        ? `the server is restarting; reconnecting in ${seconds} s, as it asked`
        : `reconnecting in ${seconds} s`,
    );
    options.onRetry?.(failure, delay);
    await sleep(clock, delay, signal);
  }
}

/** Resolves after `ms` on `clock`, or at once when `signal` aborts. */
function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = clock.at(clock.now() + ms, done);
    function done() {
      timer.cancel();
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
