/** Allow Session and Deny with an optional comment, on the link page and on Approvals. */
import { Fragment } from "preact";
import { REASON_MAX_LENGTH } from "../core/mod.ts";
import type { ApprovalStep } from "../presenters/approvals.ts";
import { PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Say, useT } from "./i18n.tsx";

/** One form: the comment travels with whichever button is pressed. */
export function DecisionForm(props: { action: string; id: string }) {
  const field = `comment-${props.id}`;
  const t = useT();
  return (
    <PostForm action={props.action} class="stack decision-form">
      <div class="field">
        <label for={field}>{t("approval.comment")}</label>
        {/* Kept as typed when a live update redraws the list of approvals around it. */}
        <input
          id={field}
          hx-preserve="true"
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

/** Where the request stands and why it was made, shown to approvers in their language. */
export function RequestFacts(props: { reason: string | null; steps: ApprovalStep[] }) {
  const t = useT();
  return (
    <>
      {props.reason && (
        <>
          <dt>{t("approval.reason")}</dt>
          <dd data-reason>{props.reason}</dd>
        </>
      )}
      {props.steps.length > 0 && (
        <>
          <dt>{t("approval.progress")}</dt>
          <dd data-progress>
            {props.steps.map((step, i) => (
              <Fragment key={i}>
                {i > 0 && " · "}
                <Say
                  k="approval.step.line"
                  source={t(`approval.step.${step.source}`)}
                  progress={<StepText step={step} />}
                />
              </Fragment>
            ))}
          </dd>
        </>
      )}
    </>
  );
}

// Mirrors core's progressText (the technician's English), part by part in the reader's words.
function StepText(props: { step: ApprovalStep }) {
  const t = useT();
  const p = props.step;
  const parts = [];
  if (p.rule === "quorum") {
    parts.push(t("approval.step.allows", { allows: p.allows, needed: p.allowsNeeded }));
    if (p.deniesNeeded > 1 && p.denies > 0) {
      parts.push(t("approval.step.denies", { denies: p.denies, needed: p.deniesNeeded }));
    }
  }
  if (p.rule === "escalation" && p.tier !== null) {
    parts.push(
      p.tier === 1 ? t("approval.step.first_tier", { tiers: p.tiers ?? 1 }) : (
        <Say
          k="approval.step.tier_since"
          tier={String(p.tier)}
          time={<Time at={p.tierSince ?? 0} clock />}
        />
      ),
    );
    if (p.nextTierAt !== null) {
      parts.push(
        <Say
          k="approval.step.next_tier"
          next={String(p.tier + 1)}
          time={<Time at={p.nextTierAt} clock />}
        />,
      );
    }
  }
  if (parts.length === 0) parts.push(t("approval.step.one_decision"));
  return (
    <>
      {parts.map((part, i) => (
        <Fragment key={i}>
          {i > 0 && "; "}
          {part}
        </Fragment>
      ))}
    </>
  );
}
