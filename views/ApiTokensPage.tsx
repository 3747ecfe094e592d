/** The user's API tokens for the JSON API: create (shown once), list, revoke. */
import { ErrorBox, Field, type FieldErrors, Notice, PostForm, SelectField } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";

/** One token in the list. */
export interface ApiTokenItem {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
  state: "active" | "expired" | "revoked";
}

/** The API tokens page. */
export function ApiTokensPage(props: {
  tokens: ApiTokenItem[];
  created?: string | null;
  errors?: FieldErrors;
  /** What was typed, kept after an error. */
  values?: { name: string; expiresDays: string };
  notice?: string | null;
  apiBase: string;
}) {
  return (
    <Layout title="API tokens">
      <p class="crumbs">
        <a href="/account">Account</a>
      </p>
      <h1>API tokens</h1>
      <p class="lead">
        Tokens let scripts and ticketing tools use the JSON API as you, with your role and
        departments. Secure Connect still applies.
      </p>
      <Notice message={props.notice} />
      <ErrorBox errors={props.errors} ids={{ expiresDays: "f-expires" }} />
      {props.created && (
        <section class="card created-token" aria-live="polite">
          <h2>New token</h2>
          <p>Copy it now; it is not shown again.</p>
          <p>
            <code id="new-token" class="secret">{props.created}</code>{" "}
            <button type="button" data-copy="#new-token">Copy</button>
          </p>
          <pre><code>curl -H "Authorization: Bearer {props.created}" {props.apiBase}/api/v1/devices</code></pre>
        </section>
      )}
      <PostForm action="/account/api-tokens" class="card stack" errors={props.errors}>
        <h2>New token</h2>
        <Field
          label="Name"
          name="name"
          value={props.values?.name}
          required
          maxlength={100}
          hint="What will use it, e.g. Helpdesk integration"
        />
        <SelectField
          label="Expires"
          name="expiresDays"
          id="f-expires"
          value={props.values?.expiresDays ?? "90"}
          options={[
            { value: "30", label: "In 30 days" },
            { value: "90", label: "In 90 days" },
            { value: "365", label: "In a year" },
            { value: "0", label: "Never" },
          ]}
        />
        <button type="submit" class="primary">Create token</button>
      </PostForm>
      {props.tokens.length === 0 ? <p class="empty">No tokens yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.tokens.map((t) => (
                <tr key={t.id} class={t.state === "active" ? undefined : "muted"}>
                  <td class="title">{t.name}</td>
                  <td data-label="Created">
                    <Time at={t.createdAt} />
                  </td>
                  <td data-label="Last used">
                    <Time at={t.lastUsedAt} />
                  </td>
                  <td data-label="Expires">
                    <Time at={t.expiresAt} empty="Never" />
                  </td>
                  <td class="corner">
                    <span class={`badge${t.state === "active" ? " badge-ok" : ""}`}>{t.state}</span>
                  </td>
                  <td class="actions-cell">
                    {t.state === "active" && (
                      <PostForm action={`/account/api-tokens/${t.id}/revoke`}>
                        <button type="submit" class="danger">Revoke</button>
                      </PostForm>
                    )}
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
