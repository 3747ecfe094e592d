/** Authenticator enrolment: scan or type the secret, then confirm with a first code. */
import { ErrorBox, Field, type FieldErrors, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** The QR code (an SVG document rendered on the server) and the grouped secret. */
export interface EnrolModel {
  qrSvg: string;
  secretGrouped: string;
  issuer: string;
  account: string;
}

/** The enrolment page. */
export function MfaEnrolPage(
  props: { model: EnrolModel; error?: string | null; errors?: FieldErrors },
) {
  const m = props.model;
  return (
    <Layout title="Set up authenticator app">
      <h1>Set up authenticator app</h1>
      <ErrorBox message={props.error} errors={props.errors} />
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
            <PostForm action="/account/mfa/confirm" class="stack" errors={props.errors}>
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

/** The recovery codes as a plain-text file: whose they are, when they were made, the codes. */
export function recoveryCodesText(
  input: { codes: string[]; account: string; organization: string; at: number },
): string {
  const day = new Date(input.at).toISOString().slice(0, 10);
  return [
    `Assent recovery codes for ${input.account} (${input.organization})`,
    `Created ${day}. Each code signs you in once; new codes replace all of these.`,
    "",
    ...input.codes,
    "",
  ].join("\n");
}

/** Recovery codes, shown exactly once, with copy and download (a file made in the page). */
export function RecoveryCodesPage(
  props: { codes: string[]; account: string; organization: string; at: number },
) {
  const text = recoveryCodesText(props);
  const day = new Date(props.at).toISOString().slice(0, 10);
  const file = `assent-recovery-codes-${
    props.account.replace(/[^A-Za-z0-9@._-]/g, "_")
  }-${day}.txt`;
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
      <pre id="recovery-codes-text" hidden>{text}</pre>
      <p class="actions-row">
        <button type="button" data-copy="#recovery-codes-text">Copy codes</button>
        <a
          class="button"
          id="download-codes"
          href={`data:text/plain;charset=utf-8,${encodeURIComponent(text)}`}
          download={file}
        >
          Download as a text file
        </a>
        <a class="button primary" href="/account">I have saved them</a>
      </p>
    </Layout>
  );
}

/** After signing in with a recovery code: how many are left, and a warning when few are. */
export function RecoveryCodesLeftPage(props: { left: number; next: string }) {
  const few = props.left <= 2;
  return (
    <Layout title="Recovery code used" narrow>
      <h1>You signed in with a recovery code</h1>
      <div class={`alert ${few ? "alert-warn" : "alert-ok"}`} role={few ? "alert" : "status"}>
        <p>
          That code is used up.{" "}
          <strong data-codes-left={props.left}>
            {props.left === 0
              ? "You have no recovery codes left."
              : props.left === 1
              ? "You have 1 recovery code left."
              : `You have ${props.left} recovery codes left.`}
          </strong>
        </p>
        {few && (
          <p>
            Issue new codes now, or set up your authenticator app again, so you are not locked out.
          </p>
        )}
      </div>
      <p class="actions-row">
        {few && <a class="button primary" href="/account#mfa">Issue new recovery codes</a>}
        <a class={few ? "button" : "button primary"} href={props.next}>Continue</a>
      </p>
    </Layout>
  );
}
