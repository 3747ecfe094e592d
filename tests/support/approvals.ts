/** Shortcuts for email-authorization tests on a running world: settings, requests, users, links. */
import { emailAuthorizationPolicy } from "../../core/mod.ts";
import type { SmtpSettings } from "../../lib/config.ts";
import { saveEmailPolicy } from "../../store/email.ts";
import { setUserDepartments } from "../../store/users.ts";
import type { Role } from "../../store/schema.ts";
import { PASSWORD } from "./accounts.ts";
import type { Client } from "./client.ts";
import { approvalLink, type ReceivedMail } from "./smtp.ts";
import type { World } from "./world.ts";

/** SMTP settings for the loopback test server on `port`. */
export function smtpSettings(port: number): SmtpSettings {
  return {
    host: "127.0.0.1",
    port,
    security: "none",
    from: "Assent <assent@example.com>",
    allowInvalidCertificate: false,
  };
}

/** Saves the device's own email setting: required, with these recipients. */
export async function requireEmail(
  w: World,
  deviceId: string,
  recipients: string[],
  timeoutSeconds = 180,
): Promise<void> {
  await saveEmailPolicy(
    w.server.services.db,
    { kind: "device", id: deviceId },
    emailAuthorizationPolicy({ required: true, recipients, timeoutSeconds }),
    "owner@example.com",
    Date.now(),
  );
}

/** Opens a support session on the device as `client` and requests authorization; its id. */
export async function openAndRequest(client: Client, deviceId: string): Promise<string> {
  await client.get(`/devices/${deviceId}`);
  await client.post(`/devices/${deviceId}/sessions`, { asUser: "" });
  const html = await (await client.get(`/devices/${deviceId}/panel`)).text();
  const sessionId = html.match(/\/sessions\/([A-Za-z0-9_-]+)\/authorize/)?.[1];
  if (!sessionId) throw new Error(`no session on the panel:\n${html}`);
  const res = await client.post(`/sessions/${sessionId}/authorize`);
  if (res.status !== 303) throw new Error(`Request Authorization answered ${res.status}`);
  return sessionId;
}

/** The session's status kind now. */
export async function statusOf(w: World, sessionId: string): Promise<string> {
  return (await w.server.services.sessions.get(sessionId))!.session.status.kind;
}

/** The session's audit events, oldest first. */
export async function auditOf(w: World, sessionId: string) {
  return await w.server.services.db.selectFrom("audit_log").selectAll()
    .where("session_id", "=", sessionId).orderBy("id").execute();
}

/** The path of the Check Request link in a mail. */
export function linkPath(mail: ReceivedMail): string {
  return new URL(approvalLink(mail)).pathname;
}

/** Creates a user in the world's department and signs them in with a new client. */
export async function addUser(
  w: World,
  user: { email: string; name: string; role?: Role },
): Promise<{ id: string; client: Client }> {
  const id = await w.server.services.accounts.createUser(
    { email: user.email, name: user.name, role: user.role ?? "technician", password: PASSWORD },
    { kind: "system" },
    (trx, userId) => setUserDepartments(trx, userId, [w.departmentId]),
  );
  const client = w.client();
  await client.get("/login");
  const res = await client.post("/login", { email: user.email, password: PASSWORD });
  if (res.status !== 303) throw new Error(`sign-in of ${user.email} answered ${res.status}`);
  return { id, client };
}

/** An API token for the user with this email address. */
export async function apiTokenFor(w: World, email: string): Promise<string> {
  const { db, apiTokens } = w.server.services;
  const user = await db.selectFrom("users").select("id").where("email", "=", email)
    .executeTakeFirstOrThrow();
  const { token } = await apiTokens.create({
    userId: user.id,
    name: "test",
    expiresAt: null,
  }, { kind: "system" });
  return token;
}
