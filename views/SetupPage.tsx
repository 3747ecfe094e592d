/** First-run setup: creates the first super admin. Exists only until that is done. */
import { ErrorBox, Field, type FieldErrors, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** Values to put back in the form after an error (never the password). */
export interface SetupValues {
  organizationName: string;
  name: string;
  email: string;
}

/** The setup form. */
export function SetupPage(props: { values?: Partial<SetupValues>; errors?: FieldErrors }) {
  const v = props.values ?? {};
  return (
    <Layout title="Set up Assent" narrow>
      <h1>Welcome to Assent</h1>
      <p class="lead">
        Create the first super admin. This account can add technicians, departments and devices, and
        is the only kind of account that may change Secure Connect.
      </p>
      <ErrorBox errors={props.errors} />
      <PostForm action="/setup" class="card stack" errors={props.errors}>
        <Field
          label="Organization name"
          name="organizationName"
          value={v.organizationName ?? ""}
          required
          maxlength={100}
          hint="Shown to end users when a technician connects."
        />
        <Field
          label="Your name"
          name="name"
          value={v.name ?? ""}
          required
          autocomplete="name"
          maxlength={100}
        />
        <Field
          label="Email"
          name="email"
          type="email"
          value={v.email ?? ""}
          required
          autocomplete="email"
        />
        <Field
          label="Password"
          name="password"
          type="password"
          required
          autocomplete="new-password"
          hint="At least 12 characters. A passphrase of a few words works well."
        />
        <Field
          label="Repeat password"
          name="passwordRepeat"
          type="password"
          required
          autocomplete="new-password"
        />
        <button type="submit" class="primary">Create super admin</button>
      </PostForm>
    </Layout>
  );
}
