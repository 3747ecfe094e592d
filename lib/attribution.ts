/**
 * Which API token a request acts through, for the audit log. The API's middleware runs the
 * request inside {@link withApiToken}; `appendAudit` asks {@link currentApiToken} and records the
 * token with every row whose actor is the token's owner, however deep in the use case the row is
 * written. Carried as context rather than through every call because the rows come from core's
 * effects, which know the technician and not how they reached the server.
 *
 * The context ends with the request: timers or loops a request happens to start inherit it,
 * and must not attribute what they do later to that token.
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The token a request authenticated with, and whose it is. */
export interface ApiTokenAttribution {
  tokenId: string;
  tokenName: string;
  userId: string;
}

const storage = new AsyncLocalStorage<{ token: ApiTokenAttribution; live: boolean }>();

/** Runs `fn` (one API request) as acting through `token`. */
export async function withApiToken<T>(
  token: ApiTokenAttribution,
  fn: () => Promise<T>,
): Promise<T> {
  const frame = { token, live: true };
  try {
    return await storage.run(frame, fn);
  } finally {
    frame.live = false;
  }
}

/** The token the current request acts through, or null outside an API request. */
export function currentApiToken(): ApiTokenAttribution | null {
  const frame = storage.getStore();
  return frame?.live ? frame.token : null;
}
