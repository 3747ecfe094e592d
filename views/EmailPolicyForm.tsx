/** The R5 setting of a device or group: require email authorization, who decides and how, timeout. */
import {
  EMAIL_RECIPIENTS_LABEL,
  EMAIL_TIMEOUT_LABEL,
  REQUIRE_EMAIL_AUTHORIZATION_LABEL,
} from "../core/mod.ts";
import type { EmailPolicyFields } from "../presenters/email_policy.ts";
import { ErrorBox, Notice, PostForm } from "./Form.tsx";

/** The values the form shows. */
export interface EmailPolicyValues extends EmailPolicyFields {
  /** Where the values come from when the target has no setting of its own. */
  inheritedFrom: string | null;
  updatedBy: string | null;
}

// A message about one field sits beside it and is announced with it; others stay on top.
function FieldError(props: { field: string; errorField: string | null; error: string | null }) {
  return props.error && props.errorField === props.field
    ? <p class="field-error" id={`f-${props.field}-error`} role="alert">{props.error}</p>
    : null;
}

/** The form; `action` is where it posts. */
export function EmailPolicyForm(props: {
  action: string;
  values: EmailPolicyValues;
  error?: string | null;
  /** The field `error` is about, when it is about one. */
  errorField?: string | null;
  notice?: string | null;
  agentReported?: string | null;
  /** Shown when no SMTP server is configured, so approval mail never leaves the server. */
  mailWarning?: string | null;
}) {
  const v = props.values;
  const error = props.error ?? null;
  const errorField = error ? props.errorField ?? null : null;
  const described = (field: string, hint?: string) => ({
    "aria-invalid": errorField === field ? "true" as const : undefined,
    "aria-describedby": errorField === field ? `f-${field}-error` : hint,
  });
  const number = (field: keyof EmailPolicyFields, label: string, min: number, max: number) => (
    <div class="field">
      <label for={`f-${field}`}>{label}</label>
      <input
        id={`f-${field}`}
        name={field}
        type="number"
        min={min}
        max={max}
        value={String(v[field])}
        {...described(field)}
      />
      <FieldError field={field} errorField={errorField} error={error} />
    </div>
  );
  return (
    <section class="card" id="email-authorization">
      <h2>Email authorization</h2>
      <ErrorBox message={errorField ? null : error} />
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
        <fieldset class="stack">
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
          <FieldError field="approval" errorField={errorField} error={error} />
        </fieldset>
        <div class="field">
          <label for="f-recipients">{EMAIL_RECIPIENTS_LABEL}</label>
          <textarea
            id="f-recipients"
            name="recipients"
            rows={3}
            {...described("recipients", "f-recipients-hint")}
          >
            {v.recipients}
          </textarea>
          <FieldError field="recipients" errorField={errorField} error={error} />
          <p class="hint" id="f-recipients-hint">
            One address per line. First decision: any one recipient may allow or deny. Quorum: all
            of them are asked. Escalation: these are tier 1.
          </p>
        </div>
        <div class="field">
          <label for="f-timeout">{EMAIL_TIMEOUT_LABEL}</label>
          <input
            id="f-timeout"
            name="timeoutSeconds"
            type="number"
            min={10}
            max={86400}
            value={v.timeoutSeconds}
            required
            {...described("timeoutSeconds", "f-timeout-hint")}
          />
          <FieldError field="timeoutSeconds" errorField={errorField} error={error} />
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
          <div class="field">
            <label for="f-tier2Recipients">Tier 2 recipients</label>
            <textarea
              id="f-tier2Recipients"
              name="tier2Recipients"
              rows={2}
              {...described("tier2Recipients")}
            >
              {v.tier2Recipients}
            </textarea>
            <FieldError field="tier2Recipients" errorField={errorField} error={error} />
          </div>
          {number("tier2Timeout", "Seconds tier 2 has", 10, 3600)}
          <div class="field">
            <label for="f-tier3Recipients">Tier 3 recipients (optional)</label>
            <textarea
              id="f-tier3Recipients"
              name="tier3Recipients"
              rows={2}
              {...described("tier3Recipients")}
            >
              {v.tier3Recipients}
            </textarea>
            <FieldError field="tier3Recipients" errorField={errorField} error={error} />
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
