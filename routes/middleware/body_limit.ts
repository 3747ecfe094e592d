/** Every request body is bounded before anything reads it. */
import type { MiddlewareHandler } from "hono";
import { type AppEnv, type Ctx, HttpError } from "../env.ts";

/** Largest request body read, unless a handler raises it for its request with {@link allowBody}. */
export const MAX_BODY_BYTES = 64 * 1024;

/** How much of this request's body may be read, and how much has been. */
export interface BodyBudget {
  limit: number;
  read: number;
  exceeded: boolean;
}

export const TOO_LARGE = "That request is too large";

/**
 * Bounds every request body before anything reads it (CSRF, forms, sign-in, handlers): the
 * announced size is checked before the first byte is read, and the bytes are counted as they
 * arrive, so nothing reads past the limit. Only a handler that has already checked who is
 * asking and what they may do can raise the limit for its own request (uploads).
 */
export function bodyLimit(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const raw = c.req.raw;
    const source = raw.body;
    if (!source) return await next();
    const budget: BodyBudget = { limit: MAX_BODY_BYTES, read: 0, exceeded: false };
    const declared = Number(raw.headers.get("Content-Length") ?? "0");
    const tooLarge = () => {
      budget.exceeded = true;
      return new HttpError(413, TOO_LARGE);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    const limited = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (!reader) {
          if (declared > budget.limit) throw tooLarge();
          reader = source.getReader();
        }
        const { value, done } = await reader.read();
        if (done) return controller.close();
        budget.read += value.byteLength;
        if (budget.read > budget.limit) {
          await reader.cancel().catch(() => {});
          throw tooLarge();
        }
        controller.enqueue(value);
      },
      cancel: (reason) => (reader ?? source).cancel(reason),
    }, { highWaterMark: 0 });
    // Built from its parts, not from `raw`: copying a request reads its signal, and reading the
    // signal of a Deno.serve request makes the runtime print a notice to the server's stderr.
    c.req.raw = new Request(raw.url, {
      method: raw.method,
      headers: raw.headers,
      body: limited,
      duplex: "half",
    } as RequestInit);
    c.set("bodyBudget", budget);
    await next();
  };
}

/** Lets this request's body be `bytes` long; only for a request already authorized. */
export function allowBody(c: Ctx, bytes: number): void {
  const budget = c.get("bodyBudget");
  if (budget) budget.limit = bytes;
}

/** True when this request failed because its body was larger than allowed. */
export function bodyTooLarge(c: Ctx): boolean {
  return c.get("bodyBudget")?.exceeded ?? false;
}
