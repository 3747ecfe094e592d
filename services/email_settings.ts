/** Changing the email-authorization setting of a device or group, audited from → to. */
import { CoreError, type EmailAuthorizationPolicy, emailAuthorizationPolicy } from "../core/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { loadEmailPolicy, saveEmailPolicy } from "../store/email.ts";
import type { CurrentUser } from "./accounts.ts";

/** The input of the form or API. */
export interface EmailPolicyInput {
  required: boolean;
  recipients: string[];
  timeoutSeconds: number;
}

function describe(p: EmailAuthorizationPolicy | null): string {
  return p
    ? `${p.required ? "required" : "not required"}; ${
      p.recipients.join(", ") || "no recipients"
    }; ${p.timeoutSeconds} s`
    : "none of its own";
}

/**
 * Saves (or, with null, removes) the setting; throws `CoreError` `invalid_policy` with a
 * message for bad values. Returns the saved policy.
 */
export async function changeEmailPolicy(
  deps: { db: Db; clock: Clock },
  target: { kind: "device" | "group"; id: string; name: string; departmentId: string },
  input: EmailPolicyInput | null,
  user: CurrentUser,
): Promise<EmailAuthorizationPolicy | null> {
  const policy = input === null ? null : emailAuthorizationPolicy(input);
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    const before = await loadEmailPolicy(trx, target.kind, target.id);
    await saveEmailPolicy(trx, target, policy, user.email, now);
    if (describe(before) === describe(policy)) return;
    await appendAudit(trx, {
      at: now,
      action: "email.policy_changed",
      actor: { kind: "user", id: user.id, label: user.email },
      deviceId: target.kind === "device" ? target.id : null,
      departmentId: target.departmentId,
      detail: {
        target: `${target.kind} ${target.name}`,
        change: `${describe(before)} → ${describe(policy)}`,
      },
    });
  });
  return policy;
}

/** Splits a recipients text field (lines, commas or semicolons) into addresses. */
export function splitRecipients(text: string): string[] {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

/** The message of an invalid-policy error, for a 400. */
export function policyMessage(err: unknown): string | null {
  return err instanceof CoreError && err.code === "invalid_policy" ? err.message : null;
}

/** The email policy set on a device or group itself, or null when it inherits. */
export async function ownEmailPolicy(db: Db, kind: "device" | "group", id: string) {
  return await loadEmailPolicy(db, kind, id);
}
