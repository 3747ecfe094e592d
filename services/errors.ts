/** Refusals the use cases answer with: a code for programs, a sentence for people, a status. */

/** A support-session refusal with the text the UI shows and a code for API clients. */
export class SessionError extends Error {
  override name = "SessionError";
  constructor(
    readonly code: string,
    message: string,
    readonly status: 400 | 403 | 404 | 409 | 429 = 409,
  ) {
    super(message);
  }
}
