/**
 * Assent core: every lifecycle rule of DESIGN.md as pure, framework-free functions. The shell
 * passes in time, ids and randomness, persists the returned state and carries out the effects.
 *
 * The support session's inner modules (its guards, rule table, endings, requests, answers and
 * audit wording) are reached through `supportSessionTransition`, `allowedActions` and
 * `sessionView`, not exported one by one.
 *
 * @module
 */

export * from "./actions.ts";
export * from "./audit_vocabulary.ts";
export * from "./confirmation.ts";
export * from "./consent.ts";
export * from "./consent_receipt.ts";
export * from "./effects.ts";
export * from "./email_approval.ts";
export * from "./errors.ts";
export * from "./file_reach.ts";
export * from "./nodes.ts";
export * from "./outcomes.ts";
export * from "./policy.ts";
export * from "./presence.ts";
export * from "./rate_limit.ts";
export * from "./secure_connect.ts";
export { ACTION_NAMES, type ActionName } from "./session_rules.ts";
export * from "./session_state.ts";
export * from "./session_view.ts";
export * from "./support_code.ts";
export * from "./support_session.ts";
export * from "./texts.ts";
export * from "./time.ts";
