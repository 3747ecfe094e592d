/** One device: its information (R1) and state, updating live. */
import type { DeviceModel } from "../presenters/device_views.ts";
import type { ComponentChildren } from "preact";
import { PostForm } from "./Form.tsx";
import { StatusBadge, Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";

const CAPABILITY_LABELS: Record<string, string> = {
  terminal: "Remote terminal",
  desktop: "Remote desktop",
  files: "File transfer",
  prompt: "Confirmation prompts",
  lock_screen_prompt: "Prompts on the lock screen",
};

/** Shown when the agent found no VNC server to tunnel the desktop to. */
export const NO_VNC_TEXT =
  "No VNC server is reachable on the device, so its desktop cannot be shown. Start one (for example x11vnc) on the address the agent is set to, 127.0.0.1:5900 by default.";

function sessionState(d: DeviceModel): string {
  if (d.loggedOff === true) return "Logged off (nobody signed in)";
  if (d.locked === true) return "Locked";
  if (d.locked === false) return "In use (unlocked)";
  return "Unknown";
}

/** The device information panel; replaced in place when the device changes. */
export function DeviceInfo(props: { device: DeviceModel }) {
  const d = props.device;
  return (
    <section class="card">
      <div class="card-head">
        <h2>Device information</h2>
        <StatusBadge online={d.online} disabled={d.disabled} />
      </div>
      <dl class="facts">
        <Fact label="Name">{d.name}</Fact>
        <Fact label="Serial Number">{d.serialNumber ?? "Not readable"}</Fact>
        <Fact label="Date of last activity">
          <Time at={d.lastActivityAt} />
        </Fact>
        <Fact label="Operating system">{d.os ?? "Not reported yet"}</Fact>
        <Fact label="Model">{d.model ?? "Unknown"}</Fact>
        <Fact label="Device Type">{d.deviceType ?? "Unknown"}</Fact>
        <Fact label="IP address">
          <span class="mono">{d.ipAddresses.join(", ") || "—"}</span>
        </Fact>
        <Fact label="Department">{d.department}</Fact>
        <Fact label="Group">{d.group ?? "None"}</Fact>
        <Fact label="Logged-in users">
          {d.users.length === 0
            ? "Nobody"
            : d.users.map((u) =>
              `${u.name}${u.session ? ` (${u.session})` : ""}${u.locked ? ", locked" : ""}`
            ).join("; ")}
        </Fact>
        <Fact label="Session state">{sessionState(d)}</Fact>
        <Fact label="Capabilities">
          {d.capabilities.map((c) => CAPABILITY_LABELS[c] ?? c).join(", ") || "None reported"}
        </Fact>
        {d.agentVersion && !d.capabilities.includes("desktop") && (
          <Fact label="Remote desktop">
            <span class="muted">{NO_VNC_TEXT}</span>
          </Fact>
        )}
        <Fact label="Agent">{d.agentVersion ? `Assent agent ${d.agentVersion}` : "—"}</Fact>
        <Fact label="Enrolled">
          <Time at={d.enrolledAt} />
        </Fact>
      </dl>
    </section>
  );
}

function Fact(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

/** The device page; `panel` is the support session panel when there is one. */
export function DevicePage(props: {
  device: DeviceModel;
  /** `deletable`: an enrolled device (a Service Desk computer goes with its support session). */
  admin:
    | { groups: { id: string; name: string }[]; deletable: boolean; contactEmail?: string | null }
    | null;
  panel?: ComponentChildren;
  /** Admin-only settings shown below (email authorization). */
  settings?: ComponentChildren;
}) {
  const d = props.device;
  return (
    <Layout title={d.name}>
      <p class="crumbs">
        <a href="/devices">Devices</a> ·{" "}
        <a href={`/audit?device=${encodeURIComponent(d.id)}`}>Audit log of this device</a>
      </p>
      <h1>{d.name}</h1>
      <div hx-ext="sse" sse-connect={`/devices/${d.id}/events`} class="device-layout">
        {props.panel}
        <Live id="device-info" url={`/devices/${d.id}/info`} event="device">
          <DeviceInfo device={d} />
        </Live>
      </div>
      {props.admin && (
        <section class="card">
          <h2>Administration</h2>
          <div class="actions-row">
            <PostForm action={`/devices/${d.id}/group`} class="inline">
              <label for="device-group">Group</label>{" "}
              <select id="device-group" name="groupId">
                <option value="">No group</option>
                {props.admin.groups.map((g) => (
                  <option key={g.id} value={g.id} selected={g.name === d.group}>{g.name}</option>
                ))}
              </select>{" "}
              <button type="submit">Move</button>
            </PostForm>
            <PostForm
              action={`/devices/${d.id}/${d.disabled ? "enable" : "disable"}`}
              confirm={d.disabled
                ? undefined
                : `Disable ${d.name}? Its connection closes at once and every session on it ends.`}
            >
              <button type="submit" class={d.disabled ? "" : "danger"}>
                {d.disabled ? "Enable device" : "Disable device"}
              </button>
            </PostForm>
          </div>
          {props.admin.deletable && (
            <PostForm
              action={`/devices/${d.id}/delete`}
              confirm={`Delete ${d.name}? Its sessions end, its agent is refused from now on, and this cannot be undone. The audit log keeps its history.`}
            >
              <button type="submit" class="danger">Delete device</button>
            </PostForm>
          )}
          <p class="hint">
            Disabling closes the agent's connection at once and refuses it until enabled again; the
            agent keeps asking every few minutes and comes back by itself once enabled.
          </p>
          <PostForm action={`/devices/${d.id}/contact`} class="inline">
            <label for="device-contact">Consent receipts go to</label>{" "}
            <input
              id="device-contact"
              name="contactEmail"
              type="email"
              autocomplete="email"
              value={props.admin.contactEmail ?? ""}
              aria-describedby="device-contact-hint"
            />{" "}
            <button type="submit">Save</button>
          </PostForm>
          <p class="hint" id="device-contact-hint">
            When an authorization on this device ends, its receipt is mailed here. Leave empty to
            mail nobody.
          </p>
        </section>
      )}
      {props.settings}
    </Layout>
  );
}
