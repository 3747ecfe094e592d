/** Allow Session and Deny with an optional comment, on the link page and on Approvals. */
import { ALLOW_SESSION, DENY, REASON_MAX_LENGTH } from "../core/mod.ts";
import { PostForm } from "./Form.tsx";

/** One form: the comment travels with whichever button is pressed. */
export function DecisionForm(props: { action: string; id: string }) {
  const field = `comment-${props.id}`;
  return (
    <PostForm action={props.action} class="stack decision-form">
      <div class="field">
        <label for={field}>Comment (optional)</label>
        <input
          id={field}
          name="comment"
          type="text"
          maxLength={REASON_MAX_LENGTH}
          aria-describedby={`${field}-hint`}
        />
        <p class="hint" id={`${field}-hint`}>
          The technician sees it with your decision, and it is kept in the audit log.
        </p>
      </div>
      <div class="actions-row">
        <button type="submit" class="primary" name="decision" value="allow">{ALLOW_SESSION}</button>
        <button type="submit" class="danger" name="decision" value="deny">{DENY}</button>
      </div>
    </PostForm>
  );
}

/** Where the request stands and why it was made, shown to approvers. */
export function RequestFacts(props: { reason: string | null; progress: string[] }) {
  return (
    <>
      {props.reason && (
        <>
          <dt>Reason</dt>
          <dd data-reason>{props.reason}</dd>
        </>
      )}
      {props.progress.length > 0 && (
        <>
          <dt>Decisions so far</dt>
          <dd data-progress>{props.progress.join(" · ")}</dd>
        </>
      )}
    </>
  );
}
