/**
 * The approval pages' view models: an approval link's page and an approver's pending list are
 * what the email-authorization service reads for its viewer, shown as they are.
 */
export type { ApprovalModel, ApprovalStep, PendingApproval } from "../services/email_auth.ts";
