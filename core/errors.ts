/** Every reason core refuses a request; the shell maps each code to an HTTP status and a text. */
export type CoreErrorCode =
  | "invalid_policy"
  | "invalid_argument"
  | "forbidden"
  | "mfa_setup_required"
  | "secure_connect_required"
  | "device_offline"
  | "session_closed"
  | "already_authorized"
  | "not_authorizing"
  | "not_authorized"
  | "missing_context"
  | "random_source_failed";

/** One problem with one field of a refused input: the field's name and a sentence about it. */
export type FieldIssue = { readonly field: string; readonly message: string };

/**
 * A refusal by core: a stable `code` for programs and a sentence-case `message` for people.
 * A refused input also says which fields are wrong (`issues`, every one, `message` the first's).
 */
export class CoreError extends Error {
  /** Stable machine-readable reason, one of `CoreErrorCode`. */
  readonly code: CoreErrorCode;
  /** Every field problem of a refused input, in the order of the input; empty otherwise. */
  readonly issues: readonly FieldIssue[];

  constructor(code: CoreErrorCode, message: string, issues: readonly FieldIssue[] = []) {
    super(message);
    this.name = "CoreError";
    this.code = code;
    this.issues = issues;
  }
}

/** True for errors raised by core, so the shell can tell a refusal from a bug. */
export function isCoreError(error: unknown): error is CoreError {
  return error instanceof CoreError;
}
