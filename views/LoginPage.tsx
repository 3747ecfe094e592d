/** Sign-in: the password step, then the second-factor step for users with MFA. */
import { ErrorBox, Field, Notice, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** The email and password form. */
export function LoginPage(
  props: { email?: string; error?: string | null; notice?: string | null; next?: string },
) {
  return (
    <Layout title="Sign in" narrow>
      <h1>Sign in</h1>
      <Notice message={props.notice} />
      <ErrorBox message={props.error} />
      <PostForm action="/login" class="card stack">
        {props.next && <input type="hidden" name="next" value={props.next} />}
        <Field
          label="Email"
          name="email"
          type="email"
          value={props.email ?? ""}
          required
          autocomplete="username"
          autofocus={!props.email}
        />
        <Field
          label="Password"
          name="password"
          type="password"
          required
          autocomplete="current-password"
          autofocus={Boolean(props.email)}
        />
        <button type="submit" class="primary">Sign in</button>
      </PostForm>
    </Layout>
  );
}

/** The authenticator code form after a correct password. */
export function MfaLoginPage(props: { error?: string | null; next?: string }) {
  return (
    <Layout title="Two-factor authentication" narrow>
      <h1>Two-factor authentication</h1>
      <p class="lead">Enter the 6-digit code from your authenticator app.</p>
      <ErrorBox message={props.error} />
      <PostForm action="/login/mfa" class="card stack">
        {props.next && <input type="hidden" name="next" value={props.next} />}
        <Field
          label="Authentication code"
          name="code"
          required
          autocomplete="one-time-code"
          inputmode="numeric"
          autofocus
          maxlength={20}
          hint="Lost your phone? Enter one of your recovery codes instead."
        />
        <button type="submit" class="primary">Verify</button>
      </PostForm>
      <p>
        <a href="/login">Start again</a>
      </p>
    </Layout>
  );
}
