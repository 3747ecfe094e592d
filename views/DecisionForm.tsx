/** Allow Session and Deny with an optional comment, on the link page and on Approvals. */
import { REASON_MAX_LENGTH } from "../core/mod.ts";
import { PostForm } from "./Form.tsx";
import { useT } from "./i18n.tsx";

/** One form: the comment travels with whichever button is pressed. */
export function DecisionForm(props: { action: string; id: string }) {
  const field = `comment-${props.id}`;
  const t = useT();
  return (
    <PostForm action={props.action} class="stack decision-form">
      <div class="field">
        <label for={field}>{t("approval.comment")}</label>
        <input
          id={field}
          name="comment"
          type="text"
          maxLength={REASON_MAX_LENGTH}
          aria-describedby={`${field}-hint`}
        />
        <p class="hint" id={`${field}-hint`}>
          {t("approval.comment_hint")}
        </p>
      </div>
      <div class="actions-row">
        <button type="submit" class="primary" name="decision" value="allow">
          {t("approval.allow")}
        </button>
        <button type="submit" class="danger" name="decision" value="deny">
          {t("approval.deny")}
        </button>
      </div>
    </PostForm>
  );
}

/** Where the request stands and why it was made, shown to approvers. */
export function RequestFacts(props: { reason: string | null; progress: string[] }) {
  const t = useT();
  return (
    <>
      {props.reason && (
        <>
          <dt>{t("approval.reason")}</dt>
          <dd data-reason>{props.reason}</dd>
        </>
      )}
      {props.progress.length > 0 && (
        <>
          <dt>{t("approval.progress")}</dt>
          <dd data-progress>{props.progress.join(" · ")}</dd>
        </>
      )}
    </>
  );
}
