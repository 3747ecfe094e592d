/** The landing page after sign-in. */
import { usePage } from "./context.ts";
import { Layout } from "./Layout.tsx";

/** Numbers and next steps for the signed-in user. */
export interface DashboardModel {
  departments: string[];
  userCount: number | null;
}

/** The dashboard. */
export function DashboardPage(props: { model: DashboardModel }) {
  const viewer = usePage().viewer!;
  const m = props.model;
  return (
    <Layout title="Dashboard">
      <h1>Hello, {viewer.name}</h1>
      {!viewer.mfaEnabled && (
        <div class="alert alert-warn" role="status">
          Your account has no second factor yet.{" "}
          <a href="/account/mfa">Set up an authenticator app</a> — Secure Connect needs it.
        </div>
      )}
      <div class="tiles">
        <section class="tile">
          <h2>Your departments</h2>
          {m.departments.length === 0
            ? <p class="empty">You are not in any department yet.</p>
            : (
              <ul class="plain">
                {m.departments.map((d) => <li key={d}>{d}</li>)}
              </ul>
            )}
        </section>
        {m.userCount !== null && (
          <section class="tile">
            <h2>Team</h2>
            <p class="big">{m.userCount}</p>
            <p>
              <a href="/admin/users">Manage users</a>
            </p>
          </section>
        )}
        <section class="tile">
          <h2>Security</h2>
          <p>
            Two-factor authentication: <strong>{viewer.mfaEnabled ? "on" : "off"}</strong>
          </p>
          <p>
            <a href="/account">Account settings</a>
          </p>
        </section>
      </div>
    </Layout>
  );
}
