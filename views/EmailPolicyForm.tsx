/** The R5 setting of a device or group: require email authorization, who decides and how, timeout. */
import {
  EMAIL_RECIPIENTS_LABEL,
  EMAIL_TIMEOUT_LABEL,
  REQUIRE_EMAIL_AUTHORIZATION_LABEL,
} from "../core/mod.ts";
import type { EmailPolicyFields } from "../presenters/email_policy.ts";
import { ErrorBox, FieldError, type FieldErrors, fieldWiring, Notice, PostForm } from "./Form.tsx";

/** The values the form shows. */
export interface EmailPolicyValues extends EmailPolicyFields {
  /** Where the values come from when the target has no setting of its own. */
  inheritedFrom: string | null;
  updatedBy: string | null;
}

// The controls' ids, where they are not `f-<name>`.
const IDS: Readonly<Record<string, string>> = {
  timeoutSeconds: "f-timeout",
  approval: "f-approval",
};
const idOf = (field: string) => IDS[field] ?? `f-${field}`;

/** The form; `action` is where it posts. */
export function EmailPolicyForm(props: {
  action: string;
  values: EmailPolicyValues;
  /** What is wrong with the whole form (not one field). */
  error?: string | null;
  /** What is wrong with each field, by its name; every one is shown beside its field. */
  errors?: FieldErrors;
  notice?: string | null;
  agentReported?: string | null;
  /** Shown when no SMTP server is configured, so approval mail never leaves the server. */
  mailWarning?: string | null;
}) {
  const v = props.values;
  const errors = props.errors ?? {};
  const wired = (field: string, hint = false) =>
    fieldWiring(idOf(field), { hint, error: errors[field] });
  const fieldClass = (field: string) => errors[field] ? "field has-error" : "field";
  const problem = (field: string) => <FieldError id={idOf(field)} error={errors[field]} />;
  const number = (field: keyof EmailPolicyFields, label: string, min: number, max: number) => (
    <div class={fieldClass(field)}>
      <label for={idOf(field)}>{label}</label>
      <input
        name={field}
        type="number"
        min={min}
        max={max}
        value={String(v[field])}
        {...wired(field)}
      />
      {problem(field)}
    </div>
  );
  return (
    <section class="card" id="email-authorization">
      <h2>Email authorization</h2>
      <ErrorBox
        message={props.error}
        errors={errors}
        ids={Object.fromEntries(Object.keys(errors).map((f) => [f, idOf(f)]))}
      />
      <Notice message={props.notice} />
      {v.inheritedFrom && (
        <p class="hint">No setting of its own: the setting of {v.inheritedFrom} applies.</p>
      )}
      {props.mailWarning && (
        <p class="alert alert-warn" role="note" data-mail-warning>{props.mailWarning}</p>
      )}
      {props.agentReported && <p class="hint">{props.agentReported}</p>}
      <PostForm action={props.action} class="stack">
        <label class="check">
          <input type="checkbox" name="required" checked={v.required} />{" "}
          {REQUIRE_EMAIL_AUTHORIZATION_LABEL}
        </label>
        <fieldset
          class="stack"
          id="f-approval"
          tabIndex={-1}
          aria-invalid={errors.approval ? "true" : undefined}
          aria-describedby={errors.approval ? "f-approval-error" : undefined}
        >
          <legend>Approval policy</legend>
          <label class="check">
            <input type="radio" name="approval" value="first" checked={v.approval === "first"} />
            {" "}
            First decision counts: any one recipient allows or denies
          </label>
          <label class="check">
            <input type="radio" name="approval" value="quorum" checked={v.approval === "quorum"} />
            {" "}
            Quorum: several recipients must allow
          </label>
          <label class="check">
            <input
              type="radio"
              name="approval"
              value="escalation"
              checked={v.approval === "escalation"}
            />{" "}
            Escalation: ask the next tier when a tier does not answer in time
          </label>
          {problem("approval")}
        </fieldset>
        <div class={fieldClass("recipients")}>
          <label for="f-recipients">{EMAIL_RECIPIENTS_LABEL}</label>
          <textarea name="recipients" rows={3} {...wired("recipients", true)}>
            {v.recipients}
          </textarea>
          {problem("recipients")}
          <p class="hint" id="f-recipients-hint">
            One address per line. First decision: any one recipient may allow or deny. Quorum: all
            of them are asked. Escalation: these are tier 1.
          </p>
        </div>
        <div class={fieldClass("timeoutSeconds")}>
          <label for="f-timeout">{EMAIL_TIMEOUT_LABEL}</label>
          <input
            name="timeoutSeconds"
            type="number"
            min={10}
            max={86400}
            value={v.timeoutSeconds}
            required
            {...wired("timeoutSeconds", true)}
          />
          {problem("timeoutSeconds")}
          <p class="hint" id="f-timeout-hint">
            With escalation, the whole request ends at the sum of the tiers' times or at this
            timeout, whichever comes first.
          </p>
        </div>
        <details class="policy-options" open={v.approval === "quorum"}>
          <summary>Quorum</summary>
          {number("allows", "Allows needed", 1, 20)}
          {number("denies", "Denies that reject (1: any deny rejects)", 1, 20)}
        </details>
        <details class="policy-options" open={v.approval === "escalation"}>
          <summary>Escalation tiers</summary>
          {number("tier1Timeout", "Seconds tier 1 has before tier 2 is asked", 10, 3600)}
          <div class={fieldClass("tier2Recipients")}>
            <label for="f-tier2Recipients">Tier 2 recipients</label>
            <textarea name="tier2Recipients" rows={2} {...wired("tier2Recipients")}>
              {v.tier2Recipients}
            </textarea>
            {problem("tier2Recipients")}
          </div>
          {number("tier2Timeout", "Seconds tier 2 has", 10, 3600)}
          <div class={fieldClass("tier3Recipients")}>
            <label for="f-tier3Recipients">Tier 3 recipients (optional)</label>
            <textarea name="tier3Recipients" rows={2} {...wired("tier3Recipients")}>
              {v.tier3Recipients}
            </textarea>
            {problem("tier3Recipients")}
          </div>
          {number("tier3Timeout", "Seconds tier 3 has", 10, 3600)}
        </details>
        <div class="actions-row">
          <button type="submit" class="primary" name="mode" value="save">Save</button>
          <button type="submit" name="mode" value="inherit">Remove own setting</button>
        </div>
        {v.updatedBy && <p class="hint">Last changed by {v.updatedBy}.</p>}
      </PostForm>
    </section>
  );
}
