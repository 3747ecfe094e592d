/** The active-sessions overview's rows, as the sessions service reads them for an admin. */
export type { ActiveAuthorization } from "../services/sessions.ts";
