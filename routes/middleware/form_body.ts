/** Forms are read once, within the body limit, before CSRF or a handler looks at them. */
import type { MiddlewareHandler } from "hono";
import { type AppEnv, HttpError } from "../env.ts";
import { bodyTooLarge, TOO_LARGE } from "./body_limit.ts";

/** Methods that change state: their forms are read and checked. */
export const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** Content types a browser form is sent with. */
export const FORM_TYPES = new Set(["application/x-www-form-urlencoded", "multipart/form-data"]);

/**
 * Reads a form body once, within the body limit, before CSRF or any handler looks at it:
 * a form that cannot be read (a multipart body without a boundary, broken parts) is a 400
 * with a plain sentence, whichever route it was sent to. Handlers read the parsed copy.
 */
export function formBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const type = c.req.header("Content-Type")?.split(";")[0]?.trim().toLowerCase() ?? "";
    if (UNSAFE.has(c.req.method) && FORM_TYPES.has(type)) {
      try {
        await c.req.parseBody({ all: true });
      } catch {
        if (bodyTooLarge(c)) throw new HttpError(413, TOO_LARGE);
        throw new HttpError(400, "The form could not be read. Reload the page and try again.");
      }
    }
    await next();
  };
}
