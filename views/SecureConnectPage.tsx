/** Secure Connect step-up: the technician authenticates before a gate reaches the device. */
import {
  MFA_ENROLMENT_REQUIRED,
  SECURE_CONNECT_LABEL,
  SECURE_CONNECT_PASSWORD_PROMPT,
  SECURE_CONNECT_TOTP_PROMPT,
} from "../core/mod.ts";
import { ErrorBox, Field, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** The step-up page for `method`, or the enrolment notice. */
export function SecureConnectPage(props: {
  /** The request's reason, carried through the step-up. */
  reason?: string | null;
  /** What the request asks for, carried through the step-up. */
  capabilities?: string[];
  sessionId: string;
  deviceId: string;
  deviceName: string;
  method: "totp" | "password" | "enrol_mfa";
  error?: string | null;
}) {
  return (
    <Layout title="Secure Connect" narrow>
      <p class="crumbs">
        <a href={`/devices/${props.deviceId}`}>{props.deviceName}</a>
      </p>
      <h1>Secure Connect</h1>
      <p class="lead">{SECURE_CONNECT_LABEL}: {props.deviceName}</p>
      <ErrorBox message={props.error} />
      {props.method === "enrol_mfa"
        ? (
          <div class="card stack">
            <p>{MFA_ENROLMENT_REQUIRED}</p>
            <p>
              <a class="button primary" href="/account/mfa">Set up authenticator app</a>
            </p>
          </div>
        )
        : (
          <PostForm action={`/sessions/${props.sessionId}/secure-connect`} class="card stack">
            {props.reason && <input type="hidden" name="reason" value={props.reason} />}
            {(props.capabilities ?? []).map((capability) => (
              <input type="hidden" name="capabilities" value={capability} />
            ))}
            {props.method === "totp"
              ? (
                <Field
                  label={SECURE_CONNECT_TOTP_PROMPT}
                  name="code"
                  required
                  autocomplete="one-time-code"
                  inputmode="numeric"
                  autofocus
                  maxlength={20}
                  hint="Lost your phone? A recovery code works too."
                />
              )
              : (
                <Field
                  label={SECURE_CONNECT_PASSWORD_PROMPT}
                  name="password"
                  type="password"
                  required
                  autocomplete="current-password"
                  autofocus
                />
              )}
            <button type="submit" class="primary">Verify and connect</button>
          </PostForm>
        )}
    </Layout>
  );
}
