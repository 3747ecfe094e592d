/** Admin: enrollment tokens that let agents join a department. */
import { ErrorBox, Field, Notice, PostForm } from "../Form.tsx";
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** One token in the list. */
export interface TokenListItem {
  id: string;
  label: string;
  department: string;
  group: string | null;
  uses: number;
  maxUses: number;
  expiresAt: number;
  state: "active" | "expired" | "used up" | "revoked";
  createdBy: string | null;
}

/** The form's choices. */
export interface EnrollmentFormModel {
  departments: { id: string; name: string }[];
  groups: { id: string; name: string; departmentId: string }[];
}

/** A token just created: shown once, with the command to run. */
export interface CreatedToken {
  token: string;
  command: string;
}

/** The enrollment page. */
export function EnrollmentPage(props: {
  tokens: TokenListItem[];
  form: EnrollmentFormModel;
  created?: CreatedToken | null;
  error?: string | null;
  notice?: string | null;
}) {
  const { departments, groups } = props.form;
  return (
    <Layout title="Enrollment">
      <h1>Enroll devices</h1>
      <p class="lead">
        An enrollment token lets the Assent agent on a device join a department. Give it to the
        agent once; the agent then keeps its own credential.
      </p>
      <Notice message={props.notice} />
      <ErrorBox message={props.error} />
      {props.created && (
        <section class="card created-token" aria-live="polite">
          <h2>New token</h2>
          <p>Copy it now; it is not shown again.</p>
          <p>
            <code id="new-token" class="secret">{props.created.token}</code>{" "}
            <button type="button" data-copy="#new-token">Copy</button>
          </p>
          <p>On the device, run:</p>
          <pre><code id="enroll-command">{props.created.command}</code></pre>
          <button type="button" data-copy="#enroll-command">Copy command</button>
        </section>
      )}
      {departments.length === 0
        ? (
          <p class="empty">
            You need a department first. <a href="/admin/departments">Create one</a>.
          </p>
        )
        : (
          <PostForm action="/admin/enrollment" class="card stack">
            <h2>New enrollment token</h2>
            <Field
              label="Label"
              name="label"
              required
              maxlength={100}
              hint="For example: Front office PCs"
            />
            <div class="field">
              <label for="f-departmentId">Department</label>
              <select id="f-departmentId" name="departmentId" required>
                {departments.map((d) => <option key={d.id} value={d.id}>{d.name}</option>)}
              </select>
            </div>
            <div class="field">
              <label for="f-groupId">Group (optional)</label>
              <select id="f-groupId" name="groupId">
                <option value="">No group</option>
                {groups.map((g) => (
                  <option key={g.id} value={g.id}>
                    {departments.find((d) => d.id === g.departmentId)?.name} / {g.name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="f-expires">Expires in</label>
              <select id="f-expires" name="expiresHours">
                <option value="1">1 hour</option>
                <option value="24" selected>1 day</option>
                <option value="168">7 days</option>
                <option value="720">30 days</option>
              </select>
            </div>
            <Field
              label="Number of uses"
              name="maxUses"
              type="number"
              value={10}
              min={1}
              max={100000}
              required
              hint="How many devices may enroll with it."
            />
            <button type="submit" class="primary">Create token</button>
          </PostForm>
        )}
      <h2>Tokens</h2>
      {props.tokens.length === 0 ? <p class="empty">No tokens yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Department</th>
                <th scope="col">Uses</th>
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
                  <td>{t.label}</td>
                  <td>
                    {t.department}
                    {t.group && <span class="muted">/ {t.group}</span>}
                  </td>
                  <td>{t.uses} of {t.maxUses}</td>
                  <td>
                    <Time at={t.expiresAt} />
                  </td>
                  <td>
                    <span class={`badge${t.state === "active" ? " badge-ok" : ""}`}>{t.state}</span>
                  </td>
                  <td>
                    {t.state === "active" && (
                      <PostForm action={`/admin/enrollment/${t.id}/revoke`}>
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
