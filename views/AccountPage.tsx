/** The user's own account: password, authenticator app, recovery codes. */
import { usePage } from "./context.ts";
import { ErrorBox, Field, type FieldErrors, Notice, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** What the account page shows besides the viewer. */
export interface AccountModel {
  recoveryCodesLeft: number;
  roleLabel: string;
  departments: string[];
  /** Stay on the device page when a request is authorized, instead of opening the workspace. */
  stayOnPanel: boolean;
}

/** The account page; `error`, `errors` and `notice` belong to the form named in `section`. */
export function AccountPage(props: {
  model: AccountModel;
  section?: "password" | "mfa" | "codes" | "workspace";
  error?: string | null;
  errors?: FieldErrors;
  notice?: string | null;
}) {
  const viewer = usePage().viewer!;
  const at = (s: string) => props.section === s;
  // Three forms here have a password field: each control gets its own id.
  const errorsOf = (s: string) => at(s) ? props.errors : undefined;
  const box = (s: string, ids?: Record<string, string>) =>
    at(s) && <ErrorBox message={props.error} errors={props.errors} ids={ids} />;
  return (
    <Layout title="Account">
      <h1>Account</h1>
      <section class="card">
        <h2>Profile</h2>
        <dl class="facts">
          <dt>Name</dt>
          <dd>{viewer.name}</dd>
          <dt>Email</dt>
          <dd>{viewer.email}</dd>
          <dt>Role</dt>
          <dd>{props.model.roleLabel}</dd>
          <dt>Departments</dt>
          <dd>{props.model.departments.join(", ") || "None"}</dd>
        </dl>
      </section>

      <section class="card" id="mfa">
        <h2>Two-factor authentication</h2>
        {box("mfa", { password: "f-mfa-password" })}
        {at("mfa") && <Notice message={props.notice} />}
        {viewer.mfaEnabled
          ? (
            <>
              <p>
                <span class="badge badge-ok">On</span>{" "}
                Sign-in and Secure Connect ask for a code from your authenticator app. Recovery
                codes left: <strong>{props.model.recoveryCodesLeft}</strong>.
              </p>
              <details open={at("mfa") && Boolean(props.errors)}>
                <summary>Reset two-factor authentication</summary>
                <PostForm action="/account/mfa/reset" class="stack" errors={errorsOf("mfa")}>
                  <p>
                    Removes your authenticator app and recovery codes. You can set up a new one
                    right after.
                  </p>
                  <Field
                    label="Current password"
                    name="password"
                    id="f-mfa-password"
                    type="password"
                    required
                    autocomplete="current-password"
                  />
                  <button type="submit" class="danger">Reset two-factor authentication</button>
                </PostForm>
              </details>
              <details open={at("codes")}>
                <summary>New recovery codes</summary>
                {box("codes", { password: "f-codes-password" })}
                <PostForm
                  action="/account/mfa/recovery-codes"
                  class="stack"
                  errors={errorsOf("codes")}
                >
                  <p>Issues ten new codes; the old ones stop working.</p>
                  <Field
                    label="Current password"
                    name="password"
                    id="f-codes-password"
                    type="password"
                    required
                    autocomplete="current-password"
                  />
                  <button type="submit">Issue new recovery codes</button>
                </PostForm>
              </details>
            </>
          )
          : (
            <>
              <p>
                <span class="badge badge-warn">Off</span>{" "}
                Protect your account with an authenticator app (any TOTP app works).
              </p>
              <p>
                <a class="button primary" href="/account/mfa">Set up authenticator app</a>
              </p>
            </>
          )}
      </section>

      <section class="card" id="workspace">
        <h2>When a request is authorized</h2>
        {box("workspace")}
        {at("workspace") && <Notice message={props.notice} />}
        <PostForm action="/account/workspace" class="stack">
          <label class="check">
            <input
              type="checkbox"
              name="stay"
              value="1"
              checked={props.model.stayOnPanel}
              aria-describedby="stay-hint"
            />{" "}
            Stay on the device page
          </label>
          <p class="hint" id="stay-hint">
            Otherwise what you asked for (terminal, desktop or files) opens by itself as soon as
            your request is authorized.
          </p>
          <button type="submit">Save</button>
        </PostForm>
      </section>

      <section class="card" id="api">
        <h2>API tokens</h2>
        <p>
          Scripts and ticketing tools use the JSON API with a personal token.{" "}
          <a href="/account/api-tokens">Manage API tokens</a>
        </p>
      </section>

      <section class="card" id="password">
        <h2>Change password</h2>
        {box("password")}
        {at("password") && <Notice message={props.notice} />}
        <PostForm action="/account/password" class="stack" errors={errorsOf("password")}>
          <Field
            label="Current password"
            name="current"
            type="password"
            required
            autocomplete="current-password"
          />
          <Field
            label="New password"
            name="password"
            type="password"
            required
            autocomplete="new-password"
            hint="At least 12 characters. Your other sessions are signed out."
          />
          <Field
            label="Repeat new password"
            name="passwordRepeat"
            type="password"
            required
            autocomplete="new-password"
          />
          <button type="submit" class="primary">Change password</button>
        </PostForm>
      </section>
    </Layout>
  );
}
