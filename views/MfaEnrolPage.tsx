/** Authenticator enrolment: scan or type the secret, then confirm with a first code. */
import { ErrorBox, Field, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** The QR code (an SVG document rendered on the server) and the grouped secret. */
export interface EnrolModel {
  qrSvg: string;
  secretGrouped: string;
  issuer: string;
  account: string;
}

/** The enrolment page. */
export function MfaEnrolPage(props: { model: EnrolModel; error?: string | null }) {
  const m = props.model;
  return (
    <Layout title="Set up authenticator app">
      <h1>Set up authenticator app</h1>
      <ErrorBox message={props.error} />
      <div class="card enrol">
        <ol class="steps">
          <li>
            <p>Scan this code with your authenticator app.</p>
            {/* The SVG comes from the QR library, not from user input. */}
            <div
              class="qr"
              role="img"
              aria-label="QR code for the authenticator app"
              dangerouslySetInnerHTML={{ __html: m.qrSvg }}
            />
          </li>
          <li>
            <p>Can't scan? Enter this key by hand (time-based, 6 digits):</p>
            <p>
              <code class="secret" id="totp-secret">{m.secretGrouped}</code>
            </p>
            <p class="hint">Account: {m.account} · Issuer: {m.issuer}</p>
          </li>
          <li>
            <PostForm action="/account/mfa/confirm" class="stack">
              <Field
                label="Code from the app"
                name="code"
                required
                autocomplete="one-time-code"
                inputmode="numeric"
                pattern="[0-9 ]{6,7}"
                maxlength={7}
                autofocus
              />
              <button type="submit" class="primary">Turn on two-factor authentication</button>
            </PostForm>
          </li>
        </ol>
      </div>
    </Layout>
  );
}

/** Recovery codes, shown exactly once. */
export function RecoveryCodesPage(props: { codes: string[] }) {
  return (
    <Layout title="Recovery codes" narrow>
      <h1>Save your recovery codes</h1>
      <div class="alert alert-warn" role="status">
        These codes are shown only now. Each one signs you in once if you lose your phone. Keep them
        somewhere safe, such as a password manager or a printout.
      </div>
      <ul class="codes" id="recovery-codes">
        {props.codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <p>
        <a class="button primary" href="/account">I have saved them</a>
      </p>
    </Layout>
  );
}
