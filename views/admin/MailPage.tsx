/** Admin: the outbox — what was sent, what is waiting, what failed — and a test mail. */
import { ErrorBox, Field, type FieldErrors, Notice, PostForm } from "../Form.tsx";
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** One mail in the list. */
export interface MailItem {
  id: number;
  createdAt: number;
  recipient: string;
  subject: string;
  status: string;
  attempts: number;
  lastError: string | null;
}

const BADGES: Record<string, string> = {
  sent: "badge-ok",
  logged: "badge-ok",
  pending: "badge-warn",
  failed: "badge-bad",
  cancelled: "",
};

/** The mail page. */
export function MailPage(props: {
  transport: string;
  mails: MailItem[];
  errors?: FieldErrors;
  /** The address typed, kept after an error. */
  to?: string;
  notice?: string | null;
}) {
  return (
    <Layout title="Mail">
      <h1>Mail</h1>
      <p class="lead">{props.transport}</p>
      <Notice message={props.notice} />
      <ErrorBox errors={props.errors} />
      <PostForm action="/admin/mail/test" class="card stack inline-form" errors={props.errors}>
        <h2>Send a test mail</h2>
        <Field label="To" name="to" type="email" value={props.to} required />
        <button type="submit">Send test mail</button>
      </PostForm>
      {props.mails.length === 0 ? <p class="empty">No mail yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">To</th>
                <th scope="col">Subject</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {props.mails.map((m) => (
                <tr key={m.id}>
                  <td data-label="Queued">
                    <Time at={m.createdAt} />
                  </td>
                  <td data-label="To">{m.recipient}</td>
                  <td class="title">
                    <a href={`/admin/mail/${m.id}`}>{m.subject}</a>
                  </td>
                  <td class="corner">
                    <span class={`badge ${BADGES[m.status] ?? ""}`}>{m.status}</span>
                    {m.lastError && <div class="hint">{m.lastError}</div>}
                  </td>
                  <td data-label="Attempts">{m.attempts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}

/** One mail, as plain text. */
export function MailMessagePage(props: {
  mail: MailItem & { text: string };
}) {
  const m = props.mail;
  return (
    <Layout title={m.subject}>
      <p class="crumbs">
        <a href="/admin/mail">Mail</a>
      </p>
      <h1>{m.subject}</h1>
      <dl class="facts card">
        <dt>To</dt>
        <dd>{m.recipient}</dd>
        <dt>Queued</dt>
        <dd>
          <Time at={m.createdAt} />
        </dd>
        <dt>Status</dt>
        <dd>{m.status} after {m.attempts} attempt{m.attempts === 1 ? "" : "s"}</dd>
      </dl>
      <pre class="mail-body" id="mail-body">{m.text}</pre>
      <p class="hint">
        Approval links are hidden here: only their recipients may allow or deny a connection.
        Recipients who have an Assent account can also decide from Approvals after signing in.
      </p>
    </Layout>
  );
}
