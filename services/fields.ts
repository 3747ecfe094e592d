/**
 * The fields use cases accept, checked with zod, and the first problem as a plain sentence.
 * The web forms, the JSON API and the console all reach the same checks through the
 * services, so an input refused on one is refused on the others.
 */
import * as z from "zod";

/**
 * Parsed input, or what is wrong with it: `errors` holds each field's first problem (by the
 * field's name; problems of the whole input under ""), and `message` the first of them all.
 */
export type FormResult<T> =
  | { ok: true; data: T }
  | { ok: false; message: string; errors: Record<string, string> };

/** Validates `input` against `schema`, returning every field's first issue. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): FormResult<z.infer<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  return { ok: false, message: firstMessage(result.error), errors: fieldMessages(result.error) };
}

/** Each field's first problem, by the field's name (nested paths joined with dots). */
export function fieldMessages(error: z.ZodError): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of error.issues) {
    const name = issue.path.map(String).join(".");
    errors[name] ??= issue.message;
  }
  return errors;
}

/** The first issue of a zod error, as a sentence a person can act on. */
export function firstMessage(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue?.message ?? "The form is not valid";
}

/** A required, trimmed text field with a length limit. */
export function text(label: string, max = 200) {
  return z.string({ error: `${label} is required` }).trim()
    .min(1, `${label} is required`)
    .max(max, `${label} must be at most ${max} characters`);
}

/** An email address, lower-cased. */
export function email() {
  return z.string({ error: "Email is required" }).trim().toLowerCase()
    .min(1, "Email is required")
    .max(254, "Email is too long")
    .pipe(z.email("Enter a valid email address"));
}

/** A password field (checked for strength elsewhere, not trimmed). */
export function password(label = "Password") {
  return z.string({ error: `${label} is required` }).min(1, `${label} is required`)
    .max(256, `${label} must be at most 256 characters`);
}

/** A field that may be sent once, many times, or not at all; always an array of strings. */
export function many(max = 100) {
  return z.preprocess(
    (v) => v === undefined ? [] : Array.isArray(v) ? v : [v],
    z.array(z.string().max(100)).max(max),
  );
}

/** A checkbox: present means on. */
export function checkbox() {
  return z.preprocess((v) => v === "on" || v === "true" || v === "1", z.boolean());
}
