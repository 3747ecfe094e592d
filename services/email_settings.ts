/** Changing the email-authorization setting of a device or group, audited from → to. */
import {
  type ApprovalPolicy,
  approvalPolicyText,
  CoreError,
  type EmailAuthorizationPolicy,
  emailAuthorizationPolicy,
} from "../core/mod.ts";
import type { Db } from "../store/db.ts";
import { loadEmailPolicy, saveEmailPolicy } from "../store/email.ts";
import type { CurrentUser } from "./accounts.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** The input of the form or API. */
export interface EmailPolicyInput {
  required: boolean;
  recipients: string[];
  timeoutSeconds: number;
  approval?: ApprovalPolicy;
}

function describe(p: EmailAuthorizationPolicy | null): string {
  return p
    ? `${p.required ? "required" : "not required"}; ${
      p.recipients.join(", ") || "no recipients"
    }; ${p.timeoutSeconds} s${
      p.approval && p.approval.kind !== "first" ? `; ${approvalPolicyText(p.approval)}` : ""
    }`
    : "none of its own";
}

/** A device or group whose email-authorization setting changes. */
export interface EmailPolicyTarget {
  kind: "device" | "group";
  id: string;
  name: string;
  departmentId: string;
}

/** The email-authorization settings of devices and groups, each change audited from → to. */
export class EmailSettings {
  readonly #d: { work: UnitOfWork };

  constructor(deps: { work: UnitOfWork }) {
    this.#d = deps;
  }

  /**
   * Saves (or, with null, removes) the setting; throws `CoreError` `invalid_policy` with a
   * message for bad values. Returns the saved policy.
   */
  async change(
    target: EmailPolicyTarget,
    input: EmailPolicyInput | null,
    user: CurrentUser,
  ): Promise<EmailAuthorizationPolicy | null> {
    const policy = input === null ? null : emailAuthorizationPolicy(input);
    await this.#d.work.run(async (tx) => {
      const before = await loadEmailPolicy(tx.db, target.kind, target.id);
      await saveEmailPolicy(tx.db, target, policy, user.email, tx.now);
      if (describe(before) === describe(policy)) return;
      await tx.audit({
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

  /**
   * Saves the posted form (or, with `inherit`, removes the own setting); a refused value
   * comes back as what is wrong with each field, and nothing is saved.
   */
  async changeFromForm(
    target: EmailPolicyTarget,
    form: { inherit: boolean; fields: EmailPolicyFields },
    user: CurrentUser,
  ): Promise<{ ok: true } | { ok: false; errors: Record<string, string> }> {
    try {
      await this.change(target, form.inherit ? null : emailPolicyInput(form.fields), user);
      return { ok: true };
    } catch (err) {
      const errors = policyErrors(err);
      if (!errors) throw err;
      return { ok: false, errors };
    }
  }
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

/** The email form as posted: every field as text, so a refused form shows what was typed. */
export interface EmailPolicyFields {
  required: boolean;
  recipients: string;
  timeoutSeconds: string;
  approval: string;
  allows: string;
  denies: string;
  tier1Timeout: string;
  tier2Recipients: string;
  tier2Timeout: string;
  tier3Recipients: string;
  tier3Timeout: string;
}

/** The form's fields for a saved (or default) setting. */
export function emailPolicyFields(p: EmailAuthorizationPolicy): EmailPolicyFields {
  const approval = p.approval ?? { kind: "first" as const };
  const tiers = approval.kind === "escalation" ? approval.tiers : [];
  return {
    required: p.required,
    recipients: (tiers[0]?.recipients ?? p.recipients).join("\n"),
    timeoutSeconds: String(p.timeoutSeconds),
    approval: approval.kind,
    allows: approval.kind === "quorum" ? String(approval.allows) : "2",
    denies: approval.kind === "quorum" ? String(approval.denies) : "1",
    tier1Timeout: String(tiers[0]?.timeoutSeconds ?? 300),
    tier2Recipients: (tiers[1]?.recipients ?? []).join("\n"),
    tier2Timeout: String(tiers[1]?.timeoutSeconds ?? 300),
    tier3Recipients: (tiers[2]?.recipients ?? []).join("\n"),
    tier3Timeout: String(tiers[2]?.timeoutSeconds ?? 300),
  };
}

/** The posted form's fields, read leniently (the values are checked by `emailPolicyInput`). */
export function emailPolicyFieldsFrom(raw: Record<string, unknown>): EmailPolicyFields {
  const text = (name: string, fallback = "") =>
    typeof raw[name] === "string" ? String(raw[name]).slice(0, 5000) : fallback;
  return {
    required: raw.required === "on",
    recipients: text("recipients"),
    timeoutSeconds: text("timeoutSeconds", "180"),
    approval: text("approval", "first"),
    allows: text("allows", "2"),
    denies: text("denies", "1"),
    tier1Timeout: text("tier1Timeout", "300"),
    tier2Recipients: text("tier2Recipients"),
    tier2Timeout: text("tier2Timeout", "300"),
    tier3Recipients: text("tier3Recipients"),
    tier3Timeout: text("tier3Timeout", "300"),
  };
}

// Numbers are passed on as typed: core refuses what is not a whole number in range, naming the
// field, so the form can put the message beside it.
/** The setting the form asks for; tier 3 counts only when it lists someone. */
export function emailPolicyInput(f: EmailPolicyFields): EmailPolicyInput {
  // Not a number: passed on as typed, so core's message quotes it.
  const number = (value: string) =>
    (value.trim() !== "" && Number.isFinite(Number(value))
      ? Number(value)
      : value.trim()) as unknown as number;
  const base = {
    required: f.required,
    recipients: splitRecipients(f.recipients),
    timeoutSeconds: number(f.timeoutSeconds),
  };
  switch (f.approval) {
    case "quorum":
      return {
        ...base,
        approval: { kind: "quorum", allows: number(f.allows), denies: number(f.denies) },
      };
    case "escalation": {
      const tiers = [
        { recipients: base.recipients, timeoutSeconds: number(f.tier1Timeout) },
        { recipients: splitRecipients(f.tier2Recipients), timeoutSeconds: number(f.tier2Timeout) },
        ...(splitRecipients(f.tier3Recipients).length > 0
          ? [{
            recipients: splitRecipients(f.tier3Recipients),
            timeoutSeconds: number(f.tier3Timeout),
          }]
          : []),
      ];
      return { ...base, approval: { kind: "escalation", tiers } };
    }
    case "first":
      return base;
    default:
      return { ...base, approval: { kind: f.approval } as unknown as ApprovalPolicy };
  }
}

/**
 * What is wrong with each field of the email form, by the form's field names (core names tier
 * settings `tier2.recipients`; the form `tier2Recipients`); null when `err` is no refusal.
 */
export function policyErrors(err: unknown): Record<string, string> | null {
  if (!(err instanceof CoreError) || err.code !== "invalid_policy") return null;
  const errors: Record<string, string> = {};
  for (const issue of err.issues) errors[formField(issue.field)] ??= issue.message;
  if (Object.keys(errors).length === 0) errors[""] = err.message;
  return errors;
}

function formField(name: string): string {
  const tier = /^tier(\d)\.(recipients|timeoutSeconds)$/.exec(name);
  if (tier) {
    const n = Number(tier[1]);
    return tier[2] === "recipients"
      ? (n === 1 ? "recipients" : `tier${n}Recipients`)
      : `tier${n}Timeout`;
  }
  return name === "tiers" ? "tier2Recipients" : name;
}
