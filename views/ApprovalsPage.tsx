/**
 * Approvals: the connection requests addressed to the signed-in user's email address, with the
 * same Allow Session and Deny as the mailed link. Never the user's own requests.
 */
import type { PendingApproval } from "../presenters/approvals.ts";
import { DecisionForm, RequestFacts } from "./DecisionForm.tsx";
import { ErrorBox, Notice } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";

/** The list, replaced in place when a request for this user arrives or ends. */
export function ApprovalsList(props: { items: PendingApproval[]; email: string }) {
  if (props.items.length === 0) {
    return (
      <p class="empty">
        Nothing waits for your decision. Requests sent to {props.email}{" "}
        appear here as they arrive; your own requests never do.
      </p>
    );
  }
  return (
    <ul class="approvals stack" aria-label="Requests waiting for your decision">
      {props.items.map((a) => (
        <li key={a.id} class="card approval" data-request={a.id}>
          <p class="lead">
            <strong>{a.technician}</strong> asks to connect to <strong>{a.device}</strong>
            {a.asUser && (
              <>
                {" "}as <strong>{a.asUser}</strong>
              </>
            )}.
          </p>
          <dl class="facts">
            <dt>Requested</dt>
            <dd>
              <Time at={a.requestedAt} />
            </dd>
            <dt>Asked as</dt>
            <dd>recipient in {a.requirement}</dd>
            <RequestFacts reason={a.reason} steps={a.steps} />
          </dl>
          <p role="status">
            <strong data-deadline={a.deadline}>{a.secondsLeft}</strong> seconds left.
          </p>
          <DecisionForm action={`/approvals/${a.id}`} id={a.id} />
        </li>
      ))}
    </ul>
  );
}

/** The Approvals page. */
export function ApprovalsPage(props: {
  items: PendingApproval[];
  email: string;
  notice?: string | null;
  error?: string | null;
}) {
  return (
    <Layout title="Approvals">
      <h1>Approvals</h1>
      <p class="lead">
        Connection requests sent to {props.email}{" "}
        that wait for your decision. Deciding here counts exactly like the link in the mail.
      </p>
      <Notice message={props.notice} />
      <ErrorBox message={props.error} />
      <div hx-ext="sse" sse-connect="/approvals/events">
        <Live id="approvals-list" url="/approvals/list" event="approvals">
          <ApprovalsList items={props.items} email={props.email} />
        </Live>
      </div>
    </Layout>
  );
}
