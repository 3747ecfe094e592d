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

/** A refusal by core: a stable `code` for programs and a sentence-case `message` for people. */
export class CoreError extends Error {
  /** Stable machine-readable reason, one of `CoreErrorCode`. */
  readonly code: CoreErrorCode;

  constructor(code: CoreErrorCode, message: string) {
    super(message);
    this.name = "CoreError";
    this.code = code;
  }
}

/** True for errors raised by core, so the shell can tell a refusal from a bug. */
export function isCoreError(error: unknown): error is CoreError {
  return error instanceof CoreError;
}
