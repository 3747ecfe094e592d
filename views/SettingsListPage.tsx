/** The departments whose settings the viewer may change, with what each has switched on. */
import { Layout } from "./Layout.tsx";

/** One department of the settings list. */
export interface SettingsListItem {
  id: string;
  name: string;
  disabled: boolean;
  confirmation: boolean;
  secureConnect: boolean;
  lifetimeMinutes: number;
}

/** The settings list, or an empty state when the viewer has no departments. */
export function SettingsListPage(props: { departments: SettingsListItem[] }) {
  const onOff = (on: boolean) =>
    on ? <span class="badge badge-ok">On</span> : <span class="badge">Off</span>;
  return (
    <Layout title="Settings">
      <h1>Settings</h1>
      <p class="lead">
        Session Confirmation, Secure Connect and the authorization lifetime are set per department.
      </p>
      {props.departments.length === 0
        ? (
          <div class="card empty-state">
            <p>
              You have no departments to configure. A super admin can add you to a department.
            </p>
          </div>
        )
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Department</th>
                  <th scope="col">Session Confirmation</th>
                  <th scope="col">Secure Connect</th>
                  <th scope="col">Authorization lifetime</th>
                </tr>
              </thead>
              <tbody>
                {props.departments.map((d) => (
                  <tr key={d.id} class={d.disabled ? "muted" : undefined}>
                    <td class="title">
                      <a href={`/settings/${d.id}`}>{d.name}</a>
                      {d.disabled && (
                        <>
                          {" "}
                          <span class="badge">Disabled</span>
                        </>
                      )}
                    </td>
                    <td data-label="Session Confirmation">{onOff(d.confirmation)}</td>
                    <td data-label="Secure Connect">{onOff(d.secureConnect)}</td>
                    <td data-label="Authorization lifetime">{d.lifetimeMinutes} minutes</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
    </Layout>
  );
}
