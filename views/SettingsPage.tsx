/**
 * Department settings: Session Confirmation (R4), Secure Connect (R3), the authorization
 * lifetime (R2) and what file transfer may reach on one department's devices, each section a form of its own so one mistake keeps the
 * others' values.
 */
import { t } from "../i18n/mod.ts";
import { type AgentUpdatesModel, AgentUpdatesSection } from "./AgentUpdatesSection.tsx";
import {
  ADD_EXCLUSION,
  CAPABILITY_NAMES,
  CONFIRMATION_MESSAGE_LABEL,
  CONFIRMATION_TIMEOUT_LABEL,
  CONSENT_CAPABILITIES,
  DEVICE_OR_GROUP_NAME_LABEL,
  EXCLUDE_DEVICES_LABEL,
  EXCLUDED_BY_LABEL,
  EXCLUDED_DEVICES_LABEL,
  FILE_TRANSFER_REACH_LABEL,
  IP_ADDRESS_LABEL,
  OS_LABEL,
  POLICY_LIMITS,
  REAUTHENTICATION_TIME_LABEL,
  SECURE_CONNECT_LABEL,
  SECURE_CONNECT_NEEDS_OWN_MFA,
  SECURE_CONNECT_SUPER_ADMIN_ONLY,
  SETUP_MFA,
  SHOW_CONFIRMATION_LABEL,
  SHOW_ON_LOCKED_LABEL,
} from "../core/mod.ts";
import { ErrorBox, Field, FieldError, fieldWiring, Notice, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** Label of the Secure Connect option that makes technicians without MFA enrol first. */
export const REQUIRE_MFA_FOR_ALL_LABEL = "Require MFA for all technicians";
/** Label of the authorization lifetime field. */
export const AUTHORIZATION_LIFETIME_LABEL = "Authorization lifetime (in minutes)";
/** Hint under the authorization lifetime field. */
export const AUTHORIZATION_LIFETIME_HINT =
  "4 hours by default; when it ends, the session is deauthorized";
/** Label of the file-transfer option for the signed-in users' home folders. */
export const USER_HOMES_LABEL = "The home folders of the users signed in on the device";
/** Label of the field where admins add folders file transfer may reach. */
export const REACH_PATHS_LABEL = "Other folders (one full path per line)";
/** Column heading of the Secure Connect exclusions table. */
export const DEVICE_NAME_COLUMN = "Device Name";

/** The parts of the page that carry their own error and "Saved." notice. */
export type SettingsPart =
  | "confirmation"
  | "confirmation-exclusions"
  | "secure-connect"
  | "secure-connect-exclusions"
  | "authorization"
  | "file-transfer"
  | "agent-updates"
  | "recording";

/** One excluded device or group as its table row shows it; "-" where nothing is known. */
export interface ExclusionRow {
  id: number;
  kind: "device" | "group";
  name: string;
  os: string;
  ip: string;
  excludedBy: string;
}

/** A device or group that can still be excluded; `value` is `device:<id>` or `group:<id>`. */
export interface TargetOption {
  value: string;
  label: string;
}

/** Everything the settings page of one department shows. */
export interface SettingsPageModel {
  department: { id: string; name: string; disabled: boolean };
  // Numbers travel as text so a refused value is shown back exactly as it was typed.
  confirmation: {
    enabled: boolean;
    message: string;
    timeoutSeconds: string;
    showOnLockedAndLoggedOff: boolean;
    /** How an enabled confirmation takes part: ask the end user, or only tell them. */
    mode?: "confirm" | "notify";
    /** The capabilities that need the end user's consent. */
    capabilities?: string[];
    nobodyToAsk?: "proceed" | "refuse";
    offerWindows?: boolean;
    /** A refused consent field and why, shown beside it. */
    fieldError?: { field: "capabilities" | "mode" | "nobodyToAsk"; message: string };
    exclusions: ExclusionRow[];
    devices: TargetOption[];
    groups: TargetOption[];
  };
  secureConnect: {
    editable: boolean;
    needsOwnMfa: boolean;
    enabled: boolean;
    reauthenticationMinutes: string;
    requireMfaForAll: boolean;
    exclusions: ExclusionRow[];
    devices: TargetOption[];
  };
  authorization: { lifetimeMinutes: string; requireReason?: boolean };
  /** `paths` one per line, as typed (or as saved). */
  fileTransfer: { userHomes: boolean; paths: string };
  /** Terminal recording: "off" or "on", and the retention as typed. */
  recording: { terminal: string; retentionDays: string };
  errors: Partial<Record<SettingsPart, string>>;
  /** Each refused field's problem, by its form name (the posted section's fields only). */
  fieldErrors?: Record<string, string>;
  saved: SettingsPart | null;
  agentUpdates?: AgentUpdatesModel;
}

/** The settings page of one department. */
export function SettingsPage(props: { model: SettingsPageModel }) {
  const m = props.model;
  const base = `/settings/${m.department.id}`;
  return (
    <Layout title={`Settings · ${m.department.name}`}>
      <p class="crumbs">
        <a href="/settings">Settings</a>
      </p>
      <h1>
        {m.department.name}
        {m.department.disabled && (
          <>
            {" "}
            <span class="badge">Disabled</span>
          </>
        )}
      </h1>
      <nav aria-label="Sections" class="settings-toc">
        <a href="#confirmation">Session Confirmation</a>
        <a href="#secure-connect">Secure Connect</a>
        <a href="#authorization">Authorization</a>
        <a href="#file-transfer">File transfer</a>
        {m.agentUpdates && <a href="#agent-updates">Agent updates</a>}
        <a href="#recording">Recording</a>
      </nav>
      <ConfirmationSection base={base} model={m} />
      <SecureConnectSection base={base} model={m} />
      <AuthorizationSection base={base} model={m} />
      <FileTransferSection base={base} model={m} />
      {m.agentUpdates && (
        <AgentUpdatesSection
          base={base}
          model={m.agentUpdates}
          saved={m.saved === "agent-updates"}
          error={m.errors["agent-updates"]}
        />
      )}
      <RecordingSection base={base} model={m} />
    </Layout>
  );
}

// The fields of each section, and the ids of those not named `f-<name>`.
const PART_FIELDS: Partial<Record<SettingsPart, readonly string[]>> = {
  confirmation: ["message", "timeoutSeconds"],
  "secure-connect": ["reauthenticationMinutes"],
  authorization: ["lifetimeMinutes"],
  recording: ["terminal", "retentionDays"],
};
const FIELD_IDS: Readonly<Record<string, string>> = { message: "confirmation-message" };

function Messages(props: { model: SettingsPageModel; part: SettingsPart }) {
  const all = props.model.fieldErrors ?? {};
  const own = Object.fromEntries(
    (PART_FIELDS[props.part] ?? []).filter((f) => all[f]).map((f) => [f, all[f]!]),
  );
  return (
    <>
      <Notice message={props.model.saved === props.part ? "Saved." : null} />
      <ErrorBox
        message={Object.keys(own).length > 0 ? null : props.model.errors[props.part]}
        errors={own}
        ids={FIELD_IDS}
      />
    </>
  );
}

function Check(
  props: { id: string; name: string; label: string; checked: boolean; describedBy?: string },
) {
  return (
    <label class="check" for={props.id}>
      <input
        type="checkbox"
        id={props.id}
        name={props.name}
        checked={props.checked}
        aria-describedby={props.describedBy}
      />
      {props.label}
    </label>
  );
}

// The consent fields of issue 14. The seed's checkbox above stays the switch; these say how.
function ConsentFields(props: { c: SettingsPageModel["confirmation"] }) {
  const c = props.c;
  const needs = c.capabilities ?? [...CONSENT_CAPABILITIES];
  const error = (field: "capabilities" | "mode" | "nobodyToAsk") =>
    c.fieldError?.field === field
      ? (
        <p class="field-error" id={`consent-${field}-error`} role="alert">
          {c.fieldError.message}
        </p>
      )
      : null;
  const invalid = (field: "capabilities" | "mode" | "nobodyToAsk") =>
    c.fieldError?.field === field ? "true" : undefined;
  return (
    <>
      <input type="hidden" name="consentFields" value="1" />
      <fieldset
        class="field"
        aria-describedby={invalid("mode") && "consent-mode-error"}
      >
        <legend>When confirmation is on</legend>
        {error("mode")}
        <label class="check">
          <input
            type="radio"
            name="mode"
            value="confirm"
            checked={(c.mode ?? "confirm") === "confirm"}
          />{" "}
          Confirm: the end user accepts or declines
        </label>
        <label class="check">
          <input type="radio" name="mode" value="notify" checked={c.mode === "notify"} />{" "}
          Notify: the device shows who is connecting and from which organization; nothing to answer
        </label>
      </fieldset>
      <fieldset
        class="field"
        aria-describedby={invalid("capabilities")
          ? "consent-capabilities-error consent-capabilities-hint"
          : "consent-capabilities-hint"}
      >
        <legend>Needs the end user's consent</legend>
        {error("capabilities")}
        {CONSENT_CAPABILITIES.map((capability) => (
          <label class="check">
            <input
              type="checkbox"
              name="capabilities"
              value={capability}
              checked={needs.includes(capability)}
            />{" "}
            {CAPABILITY_NAMES[capability]}
          </label>
        ))}
        <p class="hint" id="consent-capabilities-hint">
          The rest is granted without asking, once every other rule allows the connection.
        </p>
      </fieldset>
      <fieldset
        class="field"
        aria-describedby={invalid("nobodyToAsk") && "consent-nobodyToAsk-error"}
      >
        <legend>When nobody at the device can be asked</legend>
        {error("nobodyToAsk")}
        <label class="check">
          <input
            type="radio"
            name="nobodyToAsk"
            value="proceed"
            checked={(c.nobodyToAsk ?? "proceed") === "proceed"}
          />{" "}
          Connect without asking (locked or logged off devices; the technician and the audit log are
          told)
        </label>
        <label class="check">
          <input
            type="radio"
            name="nobodyToAsk"
            value="refuse"
            checked={c.nobodyToAsk === "refuse"}
          />{" "}
          Refuse the connection
        </label>
      </fieldset>
      <Check
        id="confirmation-windows"
        name="offerWindows"
        label="Let the end user choose how long: 15 minutes, 1 hour or until they end it"
        checked={c.offerWindows ?? false}
      />
    </>
  );
}

function ConfirmationSection(props: { base: string; model: SettingsPageModel }) {
  const c = props.model.confirmation;
  const fe = props.model.fieldErrors ?? {};
  const limits = POLICY_LIMITS.confirmationTimeoutSeconds;
  return (
    <section class="card settings-section" id="confirmation" aria-labelledby="confirmation-h">
      <h2 id="confirmation-h">Session Confirmation</h2>
      <p class="hint">
        The end user at the device accepts or declines each unattended connection.
      </p>
      <Messages model={props.model} part="confirmation" />
      <PostForm action={`${props.base}/confirmation`} class="stack">
        <Check
          id="confirmation-enabled"
          name="enabled"
          label={SHOW_CONFIRMATION_LABEL}
          checked={c.enabled}
        />
        <div class={fe.message ? "field has-error" : "field"}>
          <label for="confirmation-message">{CONFIRMATION_MESSAGE_LABEL}</label>
          <textarea
            {...fieldWiring("confirmation-message", { error: fe.message })}
            name="message"
            required
            maxLength={POLICY_LIMITS.confirmationMessageLength.max}
            rows={3}
            value={c.message}
          />
          <FieldError id="confirmation-message" error={fe.message} />
        </div>
        <Field
          label={CONFIRMATION_TIMEOUT_LABEL}
          name="timeoutSeconds"
          error={fe.timeoutSeconds}
          type="number"
          value={c.timeoutSeconds}
          min={limits.min}
          max={limits.max}
          required
          hint={`From ${limits.min} to ${limits.max} seconds; 60 by default`}
        />
        <Check
          id="confirmation-locked"
          name="showOnLockedAndLoggedOff"
          label={SHOW_ON_LOCKED_LABEL}
          checked={c.showOnLockedAndLoggedOff}
          describedBy="confirmation-locked-hint"
        />
        <p class="hint" id="confirmation-locked-hint">
          Only where the agent can prompt there. When off, a locked or logged off device is not
          asked and the audit log says so.
        </p>
        <ConsentFields c={c} />
        <div>
          <button type="submit" class="primary">Save Session Confirmation</button>
        </div>
      </PostForm>

      <h3 id="confirmation-exclusions">{EXCLUDE_DEVICES_LABEL}</h3>
      <p class="hint">Excluded devices and groups connect without asking the end user.</p>
      <Messages model={props.model} part="confirmation-exclusions" />
      <ExclusionTable
        caption={EXCLUDE_DEVICES_LABEL}
        nameColumn={DEVICE_OR_GROUP_NAME_LABEL}
        rows={c.exclusions}
        removeBase={props.base}
        removable
      />
      <AddExclusion
        action={`${props.base}/exclusions`}
        policy="confirmation"
        id="confirmation-target"
        label={DEVICE_OR_GROUP_NAME_LABEL}
        devices={c.devices}
        groups={c.groups}
      />
    </section>
  );
}

function SecureConnectSection(props: { base: string; model: SettingsPageModel }) {
  const s = props.model.secureConnect;
  const limits = POLICY_LIMITS.reauthenticationMinutes;
  return (
    <section class="card settings-section" id="secure-connect" aria-labelledby="secure-connect-h">
      <h2 id="secure-connect-h">Secure Connect</h2>
      <p class="hint">
        Technicians complete multi-factor authentication before connecting to an unattended device.
      </p>
      <Messages model={props.model} part="secure-connect" />
      {s.editable
        ? (
          <PostForm action={`${props.base}/secure-connect`} class="stack">
            <div class="check-row">
              <Check
                id="secure-connect-enabled"
                name="enabled"
                label={SECURE_CONNECT_LABEL}
                checked={s.enabled}
                describedBy={s.needsOwnMfa ? "secure-connect-mfa" : undefined}
              />
              {s.needsOwnMfa && (
                <a class="button" href="/account/mfa" aria-describedby="secure-connect-mfa">
                  {SETUP_MFA}
                </a>
              )}
            </div>
            {s.needsOwnMfa && (
              <p class="hint" id="secure-connect-mfa">{SECURE_CONNECT_NEEDS_OWN_MFA}</p>
            )}
            <Field
              label={`${REAUTHENTICATION_TIME_LABEL} (in minutes)`}
              name="reauthenticationMinutes"
              error={props.model.fieldErrors?.reauthenticationMinutes}
              type="number"
              value={s.reauthenticationMinutes}
              min={limits.min}
              max={limits.max}
              required
              hint={`From ${limits.min} to ${limits.max}; 0 asks every time. ` +
                "Another device always asks again."}
            />
            <Check
              id="secure-connect-require-mfa"
              name="requireMfaForAll"
              label={REQUIRE_MFA_FOR_ALL_LABEL}
              checked={s.requireMfaForAll}
              describedBy="secure-connect-require-mfa-hint"
            />
            <p class="hint" id="secure-connect-require-mfa-hint">
              When off, a technician without MFA is asked for their password instead.
            </p>
            <div>
              <button type="submit" class="primary">Save Secure Connect</button>
            </div>
          </PostForm>
        )
        : (
          <>
            <p class="alert alert-warn">{SECURE_CONNECT_SUPER_ADMIN_ONLY}</p>
            <dl class="facts">
              <dt>{SECURE_CONNECT_LABEL}</dt>
              <dd>{s.enabled ? "On" : "Off"}</dd>
              <dt>{REAUTHENTICATION_TIME_LABEL}</dt>
              <dd>
                {s.reauthenticationMinutes === "0"
                  ? "Always ask"
                  : t("en", "count.minutes", { count: Number(s.reauthenticationMinutes) })}
              </dd>
              <dt>{REQUIRE_MFA_FOR_ALL_LABEL}</dt>
              <dd>{s.requireMfaForAll ? "On" : "Off"}</dd>
            </dl>
          </>
        )}

      <h3 id="secure-connect-exclusions">{EXCLUDED_DEVICES_LABEL}</h3>
      <p class="hint">Excluded devices skip Secure Connect.</p>
      <Messages model={props.model} part="secure-connect-exclusions" />
      <ExclusionTable
        caption={EXCLUDED_DEVICES_LABEL}
        nameColumn={DEVICE_NAME_COLUMN}
        rows={s.exclusions}
        removeBase={props.base}
        removable={s.editable}
      />
      {s.editable && (
        <AddExclusion
          action={`${props.base}/exclusions`}
          policy="secure_connect"
          id="secure-connect-target"
          label={DEVICE_NAME_COLUMN}
          devices={s.devices}
          groups={[]}
        />
      )}
    </section>
  );
}

function AuthorizationSection(props: { base: string; model: SettingsPageModel }) {
  const limits = POLICY_LIMITS.authorizationLifetimeMinutes;
  return (
    <section class="card settings-section" id="authorization" aria-labelledby="authorization-h">
      <h2 id="authorization-h">Authorization</h2>
      <Messages model={props.model} part="authorization" />
      <PostForm action={`${props.base}/authorization`} class="stack">
        <Field
          label={AUTHORIZATION_LIFETIME_LABEL}
          name="lifetimeMinutes"
          error={props.model.fieldErrors?.lifetimeMinutes}
          type="number"
          value={props.model.authorization.lifetimeMinutes}
          min={limits.min}
          max={limits.max}
          required
          hint={AUTHORIZATION_LIFETIME_HINT}
        />
        <label class="check">
          <input
            type="checkbox"
            name="requireReason"
            checked={props.model.authorization.requireReason ?? false}
            aria-describedby="require-reason-hint"
          />{" "}
          Require a reason (such as a ticket number) with every Request Authorization
        </label>
        <p class="hint" id="require-reason-hint">
          Approvers see the reason in their mail; it is kept in the audit log.
        </p>
        <div>
          <button type="submit" class="primary">Save Authorization</button>
        </div>
      </PostForm>
    </section>
  );
}

function RecordingSection(props: { base: string; model: SettingsPageModel }) {
  const r = props.model.recording;
  const limits = POLICY_LIMITS.recordingRetentionDays;
  return (
    <section class="card settings-section" id="recording" aria-labelledby="recording-h">
      <h2 id="recording-h">Terminal recording</h2>
      <p class="hint">
        When on, every remote terminal on this department's devices is recorded on the server, with
        what was typed and shown. Technicians cannot turn it off; the end user's prompt and the
        agent say that terminals are recorded. The technician who held the session and this
        department's admins can play a recording back from the session's timeline; every viewing is
        in the audit log.
      </p>
      <Messages model={props.model} part="recording" />
      <PostForm action={`${props.base}/recording`} class="stack">
        <Check
          id="recording-terminal"
          name="terminal"
          label="Record remote terminals"
          checked={r.terminal === "on"}
        />
        <Field
          label="Keep recordings for (days)"
          name="retentionDays"
          error={props.model.fieldErrors?.retentionDays}
          type="number"
          value={r.retentionDays}
          min={limits.min}
          max={limits.max}
          required
          hint="Older recordings are deleted; the audit log keeps their record and hash."
        />
        <div>
          <button type="submit" class="primary">Save recording</button>
        </div>
      </PostForm>
    </section>
  );
}

function FileTransferSection(props: { base: string; model: SettingsPageModel }) {
  const f = props.model.fileTransfer;
  const error = props.model.errors["file-transfer"];
  return (
    <section class="card settings-section" id="file-transfer" aria-labelledby="file-transfer-h">
      <h2 id="file-transfer-h">{FILE_TRANSFER_REACH_LABEL}</h2>
      <p class="hint" id="file-transfer-hint">
        Technicians can list, download and upload only inside these folders. The agent's upload
        folder is always included; the agent never serves its own credential, keys or program.
        Terminal and desktop sessions are not limited by this.
      </p>
      <Notice message={props.model.saved === "file-transfer" ? "Saved." : null} />
      <PostForm action={`${props.base}/file-transfer`} class="stack">
        <Check
          id="file-transfer-homes"
          name="userHomes"
          label={USER_HOMES_LABEL}
          checked={f.userHomes}
        />
        <div class="field">
          <label for="file-transfer-paths">{REACH_PATHS_LABEL}</label>
          <textarea
            id="file-transfer-paths"
            name="paths"
            rows={4}
            spellcheck={false}
            class="mono"
            aria-invalid={error ? "true" : undefined}
            aria-describedby={error
              ? "file-transfer-paths-error file-transfer-paths-hint"
              : "file-transfer-paths-hint"}
            value={f.paths}
          />
          <p class="hint" id="file-transfer-paths-hint">
            For example /srv/shared or D:\Shared. At most {POLICY_LIMITS.fileTransferPaths.max}{" "}
            folders; a whole drive cannot be added.
          </p>
          {error && <p class="field-error" id="file-transfer-paths-error" role="alert">{error}</p>}
        </div>
        <div>
          <button type="submit" class="primary">Save file transfer</button>
        </div>
      </PostForm>
    </section>
  );
}

function ExclusionTable(props: {
  caption: string;
  nameColumn: string;
  rows: ExclusionRow[];
  removeBase: string;
  removable: boolean;
}) {
  if (props.rows.length === 0) return <p class="empty">Nothing is excluded.</p>;
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr">{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.nameColumn}</th>
            <th scope="col">{OS_LABEL}</th>
            <th scope="col">{IP_ADDRESS_LABEL}</th>
            <th scope="col">{EXCLUDED_BY_LABEL}</th>
            {props.removable && (
              <th scope="col">
                <span class="sr">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={r.id}>
              <td class="title">{r.kind === "group" ? `${r.name} (group)` : r.name}</td>
              <td data-label={OS_LABEL}>{r.os}</td>
              <td data-label={IP_ADDRESS_LABEL}>{r.ip}</td>
              <td data-label={EXCLUDED_BY_LABEL}>{r.excludedBy}</td>
              {props.removable && (
                <td class="actions-cell">
                  <PostForm action={`${props.removeBase}/exclusions/${r.id}/remove`}>
                    <button type="submit" class="danger" aria-label={`Remove ${r.name}`}>
                      Remove
                    </button>
                  </PostForm>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddExclusion(props: {
  action: string;
  policy: "confirmation" | "secure_connect";
  id: string;
  label: string;
  devices: TargetOption[];
  groups: TargetOption[];
}) {
  if (props.devices.length === 0 && props.groups.length === 0) {
    return (
      <p class="hint">
        {props.policy === "secure_connect"
          ? "No devices of this department are left to exclude."
          : "No devices or groups of this department are left to exclude."}
      </p>
    );
  }
  return (
    <PostForm action={props.action} class="inline add-exclusion">
      <input type="hidden" name="policy" value={props.policy} />
      <label for={props.id}>{props.label}</label>
      <select id={props.id} name="target" required>
        {props.devices.length > 0 && (
          <optgroup label="Devices">
            {props.devices.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
          </optgroup>
        )}
        {props.groups.length > 0 && (
          <optgroup label="Groups">
            {props.groups.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
          </optgroup>
        )}
      </select>
      <button type="submit">{ADD_EXCLUSION}</button>
    </PostForm>
  );
}
