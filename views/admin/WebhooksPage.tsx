/** Admin: webhooks for ticketing tools, their delivery logs and test events. */
import {
  ErrorBox,
  Field,
  FieldError,
  type FieldErrors,
  fieldWiring,
  Notice,
  PostForm,
} from "../Form.tsx";
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** A webhook as listed. */
export interface WebhookItem {
  id: string;
  url: string;
  events: string[];
  createdAt: number;
  disabledAt: number | null;
  disabledReason: string | null;
}

/** One row of a delivery log. */
export interface DeliveryItem {
  id: number;
  event: string;
  status: string;
  attempts: number;
  createdAt: number;
  lastAttemptAt: number | null;
  nextAttemptAt: number | null;
  responseCode: number | null;
  lastError: string | null;
}

const BADGES: Record<string, string> = {
  delivered: "badge-ok",
  pending: "badge-warn",
  failed: "badge-bad",
  dropped: "",
};

function State(props: { webhook: WebhookItem }) {
  return props.webhook.disabledAt === null
    ? <span class="badge badge-ok">Enabled</span>
    : <span class="badge badge-bad">Disabled</span>;
}

/** The list and the form to add one. */
export function WebhooksPage(props: {
  webhooks: WebhookItem[];
  events: { name: string; meaning: string }[];
  values?: { url: string; events: string[] };
  errors?: FieldErrors;
}) {
  const chosen = new Set(props.values?.events ?? []);
  const eventsError = props.errors?.events;
  return (
    <Layout title="Webhooks">
      <h1>Webhooks</h1>
      <p class="lead">
        Assent posts a signed JSON event to each webhook when something it is subscribed to happens.
        See docs/webhooks.md for the payloads and how to check the signature.
      </p>
      {props.webhooks.length === 0
        ? <p class="empty">No webhooks yet.</p>
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">URL</th>
                  <th scope="col">Events</th>
                  <th scope="col">State</th>
                  <th scope="col">Added</th>
                </tr>
              </thead>
              <tbody>
                {props.webhooks.map((w) => (
                  <tr key={w.id}>
                    <td>
                      <a href={`/admin/webhooks/${w.id}`}>{w.url}</a>
                    </td>
                    <td>{w.events.length}</td>
                    <td>
                      <State webhook={w} />
                    </td>
                    <td>
                      <Time at={w.createdAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <PostForm action="/admin/webhooks" class="card stack" errors={props.errors}>
        <h2>Add a webhook</h2>
        <ErrorBox errors={props.errors} />
        <Field
          label="URL"
          name="url"
          type="url"
          required
          value={props.values?.url}
          hint="Where Assent posts events: https:// (or http:// on a trusted network)"
        />
        <Field
          label="Secret"
          name="secret"
          type="password"
          autocomplete="off"
          hint="Leave empty to have a strong one made and shown once. At least 24 characters."
        />
        <fieldset
          {...fieldWiring("f-events", { error: eventsError })}
          tabIndex={eventsError ? -1 : undefined}
          class={eventsError ? "has-error" : undefined}
        >
          <legend>Events</legend>
          <FieldError id="f-events" error={eventsError} />
          {props.events.map((e) => (
            <label key={e.name} class="check">
              <input type="checkbox" name="events" value={e.name} checked={chosen.has(e.name)} />
              {" "}
              <code>{e.name}</code> — {e.meaning}
            </label>
          ))}
        </fieldset>
        <button type="submit">Add webhook</button>
      </PostForm>
    </Layout>
  );
}

/** Shown once after adding a webhook whose secret was generated. */
export function WebhookCreatedPage(props: { webhook: WebhookItem; secret: string }) {
  return (
    <Layout title="Webhook added" narrow>
      <h1>Webhook added</h1>
      <p class="lead">
        Copy this secret into the receiver now: it is not shown again. The receiver uses it to check
        the <code>X-Assent-Signature</code> header.
      </p>
      <p>
        <code id="webhook-secret">{props.secret}</code>
      </p>
      <p>
        <a href={`/admin/webhooks/${props.webhook.id}`}>Go to the webhook</a>
      </p>
    </Layout>
  );
}

/** One webhook: its state, its delivery log, and what can be done with it. */
export function WebhookPage(props: {
  webhook: WebhookItem;
  deliveries: DeliveryItem[];
  notice?: string | null;
  error?: string | null;
}) {
  const w = props.webhook;
  return (
    <Layout title="Webhook">
      <h1>Webhook</h1>
      <p class="lead">
        <code>{w.url}</code> <State webhook={w} />
      </p>
      <Notice message={props.notice} />
      <ErrorBox message={props.error} />
      {w.disabledAt !== null && (
        <p class="alert alert-error" role="alert" id="webhook-disabled">
          Disabled <Time at={w.disabledAt} />. {w.disabledReason}
        </p>
      )}
      <p>
        Events: {w.events.map((e) => <code key={e}>{e}</code>).reduce<unknown[]>(
          (all, e, i) => i === 0 ? [e] : [...all, ", ", e],
          [],
        )}
      </p>
      <div class="actions">
        {w.disabledAt === null
          ? (
            <>
              <PostForm action={`/admin/webhooks/${w.id}/test`} class="inline-form">
                <button type="submit">Send test event</button>
              </PostForm>
              <PostForm action={`/admin/webhooks/${w.id}/disable`} class="inline-form">
                <button type="submit" class="secondary">Disable</button>
              </PostForm>
            </>
          )
          : (
            <PostForm action={`/admin/webhooks/${w.id}/enable`} class="inline-form">
              <button type="submit">Enable</button>
            </PostForm>
          )}
        <PostForm
          action={`/admin/webhooks/${w.id}/delete`}
          class="inline-form"
          confirm="Delete this webhook and its delivery log?"
        >
          <button type="submit" class="danger">Delete</button>
        </PostForm>
      </div>
      <h2>Deliveries</h2>
      {props.deliveries.length === 0
        ? <p class="empty">Nothing delivered yet.</p>
        : (
          <div class="table-wrap">
            <table id="deliveries">
              <thead>
                <tr>
                  <th scope="col">Queued</th>
                  <th scope="col">Event</th>
                  <th scope="col">Status</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Response</th>
                  <th scope="col">Next try</th>
                </tr>
              </thead>
              <tbody>
                {props.deliveries.map((d) => (
                  <tr key={d.id}>
                    <td>
                      <Time at={d.createdAt} />
                    </td>
                    <td>
                      <code>{d.event}</code>
                    </td>
                    <td>
                      <span class={`badge ${BADGES[d.status] ?? ""}`}>{d.status}</span>
                    </td>
                    <td>{d.attempts}</td>
                    <td>
                      {d.responseCode ?? "—"}
                      {d.lastError && <span class="muted">{` ${d.lastError}`}</span>}
                    </td>
                    <td>
                      <Time at={d.nextAttemptAt} empty="—" />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </Layout>
  );
}
