/**
 * Waiting for what another process, a socket or the server's event loop does: the one polling
 * helper of the tests. Every wait names what it waits for, so a timeout says what did not
 * happen. Rules about time are not waited for: they run on a `FakeClock` (lib/clock.ts).
 */

/** How long a wait may take by default: generous, for a loaded two-core machine. */
export const WAIT_MS = 15_000;

/** How often a condition is checked by default. */
const POLL_MS = 25;

/** How a wait polls and when it gives up. */
export interface UntilOptions {
  /** Fails after this long; default {@link WAIT_MS}. */
  timeoutMs?: number;
  /** Pause between checks; default 25 ms. */
  intervalMs?: number;
  /** Added to the timeout error, e.g. what arrived instead. */
  detail?: () => string;
}

/** A value that is not falsy. */
export type Truthy<T> = Exclude<T, false | 0 | "" | null | undefined>;

/**
 * Resolves with the first truthy value `check` returns, checking at once and then every
 * `intervalMs`; fails after `timeoutMs` with "timed out … waiting for `what`". A check that
 * throws ends the wait with its error, so a check can give up early (a process that exited).
 */
export async function until<T>(
  what: string,
  check: () => T | Promise<T>,
  options: UntilOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) {
      const detail = options.detail ? `: ${options.detail()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
    }
    await pause(options.intervalMs ?? POLL_MS);
  }
}

/**
 * Resolves with `measure()` once it has stayed the same for `quietMs`: for output that stops
 * at a flow-control window, or work that may still be under way, where only a stretch of real
 * time without growth shows that it stopped. Fails after `timeoutMs` if it never settles.
 */
export async function untilQuiet<T>(
  what: string,
  measure: () => T | Promise<T>,
  options: { quietMs?: number; timeoutMs?: number } = {},
): Promise<T> {
  const quietMs = options.quietMs ?? 300;
  const timeoutMs = options.timeoutMs ?? WAIT_MS;
  const deadline = Date.now() + timeoutMs;
  let last = await measure();
  for (;;) {
    await pause(quietMs);
    const now = await measure();
    if (Object.is(now, last)) return now;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} to settle`);
    }
    last = now;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
