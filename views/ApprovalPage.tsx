/** The approval page an email recipient opens from "Check Request" (no sign-in; the link is the credential). */
import type { ApprovalModel } from "../presenters/approvals.ts";
import { DecisionForm, RequestFacts } from "./DecisionForm.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";

/** The page for one link. */
export function ApprovalPage(props: { model: ApprovalModel }) {
  const m = props.model;
  const v = m.view;
  return (
    <Layout title="Connection request" narrow>
      <h1>Connection request</h1>
      <section class="card approval" data-state={v.kind}>
        <p class="lead">
          <strong>{m.technician}</strong> asks to connect to <strong>{m.device}</strong>
          {m.asUser && (
            <>
              {" "}as <strong>{m.asUser}</strong>
            </>
          )}.
        </p>
        <dl class="facts">
          <dt>Requested</dt>
          <dd>
            <Time at={m.requestedAt} />
          </dd>
          <dt>Sent to</dt>
          <dd>{m.recipient}</dd>
          <RequestFacts reason={m.reason} progress={m.progress} />
        </dl>
        {v.kind === "pending"
          ? (
            <>
              <p role="status">
                {v.text}: <strong data-deadline={v.deadline}>{v.secondsLeft}</strong> seconds left.
              </p>
              <DecisionForm action={`/approve/${m.token}`} id="link" />
              <p class="hint">Nobody connects unless someone allows it before the time runs out.</p>
            </>
          )
          : v.kind === "allowed" || v.kind === "denied"
          ? (
            <p class={`alert ${v.kind === "allowed" ? "alert-ok" : "alert-error"}`} role="status">
              {v.text} by {v.by} at <Time at={v.at} />.
            </p>
          )
          : <p class="alert alert-warn" role="status">{v.text}.</p>}
      </section>
    </Layout>
  );
}

/** A link that matches no request. */
export function UnknownApprovalPage(props: { message: string }) {
  return (
    <Layout title="Connection request" narrow>
      <h1>Connection request</h1>
      <p class="alert alert-warn" role="status">{props.message}</p>
    </Layout>
  );
}
