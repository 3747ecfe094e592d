/** The approval page an email recipient opens from "Check Request" (no sign-in; the link is the credential). */
import type { ApprovalModel } from "../presenters/approvals.ts";
import { DecisionForm, RequestFacts } from "./DecisionForm.tsx";
import { Time } from "./format.tsx";
import { Say, useT } from "./i18n.tsx";
import { Layout } from "./Layout.tsx";

/** The page for one link, in the reader's language. */
export function ApprovalPage(props: { model: ApprovalModel }) {
  const m = props.model;
  const v = m.view;
  const t = useT();
  const technician = <strong>{m.technician ?? t("approval.a_technician")}</strong>;
  const device = <strong>{m.device ?? t("approval.a_device")}</strong>;
  return (
    <Layout title={t("approval.title")} narrow>
      <h1>{t("approval.title")}</h1>
      <section class="card approval" data-state={v.kind}>
        <p class="lead">
          {m.asUser
            ? (
              <Say
                k="approval.asks_as"
                technician={technician}
                device={device}
                user={<strong>{m.asUser}</strong>}
              />
            )
            : <Say k="approval.asks" technician={technician} device={device} />}
        </p>
        <dl class="facts">
          <dt>{t("approval.requested")}</dt>
          <dd>
            <Time at={m.requestedAt} />
          </dd>
          <dt>{t("approval.sent_to")}</dt>
          <dd>{m.recipient}</dd>
          <RequestFacts reason={m.reason} steps={m.steps} />
        </dl>
        {v.kind === "pending"
          ? (
            <>
              <p role="status">
                {t("approval.pending")}:{" "}
                <Say
                  k="approval.seconds_left"
                  count={v.secondsLeft}
                  countAs={<strong data-deadline={v.deadline}>{v.secondsLeft}</strong>}
                />
              </p>
              <DecisionForm action={`/approve/${m.token}`} id="link" />
              <p class="hint">{t("approval.nobody_connects")}</p>
            </>
          )
          : v.kind === "allowed" || v.kind === "denied"
          ? (
            <p class={`alert ${v.kind === "allowed" ? "alert-ok" : "alert-error"}`} role="status">
              <Say
                k={v.yours
                  ? (v.kind === "allowed" ? "approval.you_allowed" : "approval.you_denied")
                  : (v.kind === "allowed" ? "approval.allowed_by" : "approval.denied_by")}
                by={v.by}
                at={<Time at={v.at} />}
              />
            </p>
          )
          : <p class="alert alert-warn" role="status">{t(VIEW_TEXT[v.kind])}.</p>}
      </section>
    </Layout>
  );
}

const VIEW_TEXT = {
  recorded: "approval.recorded",
  expired: "approval.expired",
  withdrawn: "approval.withdrawn",
  own_request: "approval.own_request",
} as const;

/** A link that matches no request. */
export function UnknownApprovalPage(props: { message: string }) {
  const t = useT();
  return (
    <Layout title={t("approval.title")} narrow>
      <h1>{t("approval.title")}</h1>
      <p class="alert alert-warn" role="status">{props.message}</p>
    </Layout>
  );
}
