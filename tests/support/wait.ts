/** Waiting for something another process or the server's event loop does. */

/** Resolves once `check` holds, polling every 25 ms; throws `what` after `timeoutMs`. */
export async function until(
  check: () => boolean | Promise<boolean>,
  what = "condition",
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
