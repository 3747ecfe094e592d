/** The email-authorization setting's form fields, as the settings service reads and checks them. */
export type { EmailPolicyFields } from "../services/email_settings.ts";
