/** Epoch milliseconds; core never reads a clock, every time comes in as an argument. */
export type Millis = number;

/** One second in milliseconds. */
export const SECOND = 1_000;
/** One minute in milliseconds. */
export const MINUTE = 60 * SECOND;

/** Whole seconds left until `deadline`, rounded up so a countdown shows 0 only when time is up. */
export function secondsLeft(deadline: Millis, now: Millis): number {
  return Math.max(0, Math.ceil((deadline - now) / SECOND));
}
