/**
 * The Service Desk pages' view models: a support code as its technician sees it, and the public
 * join page as the service reads it for a visitor.
 */
export type { SupportCodeModel, SupportState } from "../services/support_codes.ts";
export type { JoinPage } from "../services/support_join_page.ts";
