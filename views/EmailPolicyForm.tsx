/** The R5 setting of a device or group: require email authorization, recipients, timeout. */
import {
  EMAIL_RECIPIENTS_LABEL,
  EMAIL_TIMEOUT_LABEL,
  REQUIRE_EMAIL_AUTHORIZATION_LABEL,
} from "../core/mod.ts";
import { ErrorBox, Notice, PostForm } from "./Form.tsx";

/** The values the form shows. */
export interface EmailPolicyValues {
  required: boolean;
  recipients: string;
  timeoutSeconds: number;
  /** Where the values come from when the target has no setting of its own. */
  inheritedFrom: string | null;
  updatedBy: string | null;
}

/** The form; `action` is where it posts. */
export function EmailPolicyForm(props: {
  action: string;
  values: EmailPolicyValues;
  error?: string | null;
  notice?: string | null;
  agentReported?: string | null;
  /** Shown when no SMTP server is configured, so approval mail never leaves the server. */
  mailWarning?: string | null;
}) {
  const v = props.values;
  return (
    <section class="card" id="email-authorization">
      <h2>Email authorization</h2>
      <ErrorBox message={props.error} />
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
        <div class="field">
          <label for="f-recipients">{EMAIL_RECIPIENTS_LABEL}</label>
          <textarea
            id="f-recipients"
            name="recipients"
            rows={3}
            aria-describedby="f-recipients-hint"
          >
            {v.recipients}
          </textarea>
          <p class="hint" id="f-recipients-hint">
            One address per line. Any one recipient may allow or deny; the first decision counts.
          </p>
        </div>
        <div class="field">
          <label for="f-timeout">{EMAIL_TIMEOUT_LABEL}</label>
          <input
            id="f-timeout"
            name="timeoutSeconds"
            type="number"
            min={10}
            max={3600}
            value={v.timeoutSeconds}
            required
          />
        </div>
        <div class="actions-row">
          <button type="submit" class="primary" name="mode" value="save">Save</button>
          <button type="submit" name="mode" value="inherit">Remove own setting</button>
        </div>
        {v.updatedBy && <p class="hint">Last changed by {v.updatedBy}.</p>}
      </PostForm>
    </section>
  );
}
