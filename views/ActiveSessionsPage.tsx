/**
 * Active sessions: who is authorized on which device and until when, with Deauthorize. A
 * technician sees their own; an admin every one in the departments they administer.
 */
import { DEAUTHORIZE_SESSION } from "../core/mod.ts";
import type { ActiveAuthorization } from "../presenters/sessions.ts";
import { Notice, PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";
import { clockText } from "./RemotePage.tsx";

/** The list, replaced in place whenever a session changes. */
export function ActiveSessionsList(props: { items: ActiveAuthorization[] }) {
  if (props.items.length === 0) {
    return <p class="empty">No one is authorized on a device right now.</p>;
  }
  return (
    <div class="table-wrap">
      <table class="active-sessions">
        <caption class="sr">Authorizations in force, soonest end first</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Technician</th>
            <th scope="col">Department</th>
            <th scope="col">Authorized since</th>
            <th scope="col">Time left</th>
            <th scope="col">Channels</th>
            <th scope="col">
              <span class="sr">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.items.map((a) => (
            <tr key={a.sessionId} data-session={a.sessionId}>
              <td class="title">
                <a href={`/devices/${a.deviceId}`}>{a.deviceName}</a>
                {a.asUser && <span class="muted">as {a.asUser}</span>}
              </td>
              <td data-label="Technician">
                {a.own ? `${a.technicianName} (you)` : a.technicianName}
              </td>
              <td data-label="Department">{a.departmentName}</td>
              <td data-label="Authorized since">
                <Time at={a.authorizedAt} />
              </td>
              <td data-label="Time left">
                {/* Counted from the server's time left, so a wrong clock here cannot stretch it. */}
                <strong role="timer" data-left-ms={a.leftMs} data-format="clock">
                  {clockText(a.leftMs)}
                </strong>{" "}
                <span class="muted">
                  until <Time at={a.expiresAt} />
                </span>
              </td>
              <td data-label="Channels">{a.channels}</td>
              <td class="actions-cell">
                <PostForm action={`/sessions/active/${a.sessionId}/deauthorize`}>
                  <button
                    type="submit"
                    class="danger"
                    aria-label={`${DEAUTHORIZE_SESSION}: ${a.deviceName}, ${a.technicianName}`}
                  >
                    {DEAUTHORIZE_SESSION}
                  </button>
                </PostForm>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The page. */
export function ActiveSessionsPage(
  props: { items: ActiveAuthorization[]; oversees: boolean; notice?: string | null },
) {
  return (
    <Layout title="Active sessions">
      <h1>Active sessions</h1>
      <p class="lead">
        {props.oversees
          ? "Every authorization in force in the departments you administer, and your own."
          : "Your authorizations in force."}{" "}
        Deauthorize ends the authorization and closes its terminal, desktop and transfers at once.
      </p>
      <Notice message={props.notice} />
      <div hx-ext="sse" sse-connect="/sessions/active/events">
        <Live id="active-sessions" url="/sessions/active/list" event="session" announce>
          <ActiveSessionsList items={props.items} />
        </Live>
      </div>
    </Layout>
  );
}
