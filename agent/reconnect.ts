/** Reconnecting with full-jitter exponential backoff until told to stop. */
import { delay as pause } from "./channel_io.ts";
import type { AgentOptions } from "./options.ts";
import { AgentStopped } from "./connection.ts";

/** Full-jitter exponential backoff: a random delay up to min(max, base · 2^attempt). */
export function backoffDelay(attempt: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, 1000 * 2 ** Math.min(attempt, 16));
  return Math.floor(random() * ceiling) + 250;
}

/**
 * Calls `connect` again and again, with backoff in between, until it resolves false or
 * `signal` aborts. A fatal refusal ({@link AgentStopped}) ends it by propagating.
 */
export async function reconnecting(
  connect: () => Promise<boolean>,
  options: Pick<AgentOptions, "log" | "maxBackoffMs"> & {
    /** Told before each wait: why the last connection ended (null: it closed), and for how long. */
    onRetry?: (failure: string | null, delayMs: number) => void;
  },
  signal?: AbortSignal,
): Promise<void> {
  let attempt = 0;
  while (!signal?.aborted) {
    const started = Date.now();
    let failure: string | null = null;
    try {
      if (!await connect()) return;
    } catch (err) {
      if (err instanceof AgentStopped) throw err;
      failure = err instanceof Error ? err.message : String(err);
      options.log(`connection failed: ${failure}`);
    }
    if (signal?.aborted) return;
    // A connection that lasted a while resets the backoff.
    attempt = Date.now() - started > 30_000 ? 0 : attempt + 1;
    const delay = backoffDelay(attempt, options.maxBackoffMs);
    options.log(`reconnecting in ${(delay / 1000).toFixed(1)} s`);
    options.onRetry?.(failure, delay);
    await pause(delay, signal);
  }
}
