/**
 * The request handling that routes share, one middleware per module in `middleware/`; this
 * module only names them for the route modules that import them.
 */
export { requireRole, requireUser } from "./middleware/access.ts";
export {
  allowBody,
  type BodyBudget,
  bodyLimit,
  bodyTooLarge,
  MAX_BODY_BYTES,
} from "./middleware/body_limit.ts";
export { clientAddress } from "./middleware/client_address.ts";
export { csrf, CSRF_COOKIE } from "./middleware/csrf.ts";
export { formBody } from "./middleware/form_body.ts";
export {
  CONTENT_SECURITY_POLICY,
  hasPageHeaders,
  htmlPage,
  securityHeaders,
} from "./middleware/security_headers.ts";
export { loadUser, SESSION_COOKIE, setSessionCookie } from "./middleware/session.ts";
export { setupGate } from "./middleware/setup_gate.ts";
