/** Form parsing with zod: every field checked, each problem reported in plain words by its field. */
import type { z } from "zod";
import { type FormResult, parseWith } from "../services/fields.ts";
import type { Ctx } from "./env.ts";

export {
  checkbox,
  email,
  fieldMessages,
  firstMessage,
  type FormResult,
  many,
  parseWith,
  password,
  text,
} from "../services/fields.ts";

/** Parses the request's form body against `schema`. Repeated fields arrive as arrays. */
export async function readForm<S extends z.ZodType>(
  c: Ctx,
  schema: S,
): Promise<FormResult<z.infer<S>>> {
  let body: Record<string, unknown>;
  try {
    body = await c.req.parseBody({ all: true });
  } catch {
    return { ok: false, message: "The form could not be read", errors: {} };
  }
  return parseWith(schema, body);
}

/** A relative path to return to after sign-in; anything else becomes "/". */
export function safeNext(next: unknown): string {
  return typeof next === "string" && /^\/(?![/\\])[^\s]*$/.test(next) ? next : "/";
}
