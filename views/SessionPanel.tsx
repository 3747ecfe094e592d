/**
 * The support session panel of a device page: the session's state (live), the four actions
 * exactly as `allowedActions` decides them, and the R4 outcome screens.
 */
import { t } from "../i18n/mod.ts";
import type { SessionPanelModel } from "../presenters/device_views.ts";
import {
  ACTION_LABELS,
  type ActionName,
  type ActionState,
  ASK_FOR_CAPABILITY,
  CANCEL_REQUEST,
  CAPABILITY_NAMES,
  capabilityList,
  CONSENT_CAPABILITIES,
  type ConsentCapability,
  END_USER_NOTIFIED,
  REASON_MAX_LENGTH,
  REQUEST_PERMISSION,
  type SessionView,
} from "../core/mod.ts";
import { PostForm } from "./Form.tsx";
import { Time } from "./format.tsx";

const ORDER: ActionName[] = [
  "take_remote_control",
  "request_authorization",
  "deauthorize_session",
  "file_transfer",
];

function ActionButton(
  props: {
    name: ActionName;
    state: ActionState;
    sessionId: string | null;
    deviceId: string;
    attended?: { supportId: string } | null;
    request?: SessionPanelModel["request"];
  },
) {
  const attended = props.attended;
  const label = attended && props.name === "request_authorization"
    ? REQUEST_PERMISSION
    : ACTION_LABELS[props.name];
  const id = `why-${props.name}`;
  // In a Service Desk session, asking for permission also opens the session when needed.
  if (attended && props.name === "request_authorization" && props.state.enabled) {
    return (
      <div class="action">
        <PostForm action={`/support/${attended.supportId}/permission`}>
          <button type="submit" class="primary" data-action={props.name}>{label}</button>
        </PostForm>
      </div>
    );
  }
  if (!props.state.enabled || !props.sessionId) {
    return (
      <div class="action">
        <button type="button" disabled aria-describedby={id} data-action={props.name}>
          {label}
        </button>
        <span class="why" id={id}>{props.state.enabled ? "" : props.state.reason}</span>
      </div>
    );
  }
  const s = props.sessionId;
  switch (props.name) {
    case "take_remote_control":
      return (
        <div class="action">
          <a class="button primary" href={`/sessions/${s}/remote`} data-action={props.name}>
            {label}
          </a>
        </div>
      );
    case "file_transfer":
      return (
        <div class="action">
          <a class="button" href={`/sessions/${s}/files`} data-action={props.name}>{label}</a>
        </div>
      );
    case "request_authorization": {
      const request = props.request;
      const error = request?.reasonError ?? null;
      return (
        <div class="action">
          <PostForm action={`/sessions/${s}/authorize`} class="stack request-form">
            <div class="field">
              <label for="f-reason">
                {request?.reasonRequired ? "Reason (ticket number)" : "Reason (optional)"}
              </label>
              {
                /* Kept as typed when a live update redraws the panel (the first comes as the page
                  connects to its events, often after the technician has started typing). */
              }
              <input
                id="f-reason"
                hx-preserve="true"
                name="reason"
                type="text"
                maxLength={REASON_MAX_LENGTH}
                value={request?.reason ?? ""}
                required={request?.reasonRequired ?? false}
                aria-invalid={error ? "true" : undefined}
                aria-describedby={error ? "f-reason-error" : "f-reason-hint"}
              />
              {error
                ? <p class="field-error" id="f-reason-error" role="alert">{error}</p>
                : (
                  <p class="hint" id="f-reason-hint">
                    Approvers see it in their mail; it is kept in the audit log.
                  </p>
                )}
            </div>
            <fieldset class="capabilities">
              <legend>What do you need?</legend>
              {CONSENT_CAPABILITIES.map((capability) => (
                <label class="check">
                  <input
                    type="checkbox"
                    name="capabilities"
                    value={capability}
                    checked={request?.capabilities?.includes(capability) ?? true}
                  />{" "}
                  {CAPABILITY_NAMES[capability]}
                </label>
              ))}
            </fieldset>
            <button type="submit" class="primary" data-action={props.name}>{label}</button>
          </PostForm>
        </div>
      );
    }
    case "deauthorize_session":
      return (
        <div class="action">
          <PostForm action={`/sessions/${s}/deauthorize`}>
            <button type="submit" class="danger" data-action={props.name}>{label}</button>
          </PostForm>
        </div>
      );
  }
}

// Who answered and what is still needed, with the countdown to the next escalation tier.
function Approvals(
  props: { view: Extract<SessionView, { kind: "authorizing" }>; lines: string[] },
) {
  const votes = props.view.approvals.flatMap((p) => p.votes);
  const next = props.view.approvals.map((p) => p.nextTierAt).filter((t) => t !== null)
    .sort((a, b) => a - b)[0];
  if (props.lines.length === 0) return null;
  return (
    <div class="approval-progress" data-approvals>
      <ul class="plain">
        {props.lines.map((line) => <li key={line} data-progress>{line}</li>)}
      </ul>
      {votes.length > 0 && (
        <ul class="plain votes" aria-label="Answers so far">
          {votes.map((v) => (
            <li key={`${v.by}-${v.at}`} data-vote={v.decision}>
              {v.decision === "allow" ? "Allowed" : "Denied"} by {v.by} at <Time at={v.at} />
              {v.comment && <>: “{v.comment}”</>}
            </li>
          ))}
        </ul>
      )}
      {next !== undefined && (
        <p class="countdown" data-next-tier>
          Next tier asked in{" "}
          <strong data-deadline={next}>
            {Math.max(
              0,
              Math.ceil((next - (props.view.deadline - props.view.secondsLeft * 1000)) / 1000),
            )}
          </strong>{" "}
          seconds
        </p>
      )}
    </div>
  );
}

// What the end user allowed, and a way to ask for the rest: the server refuses a channel the
// authorization lacks whatever this shows, so these buttons only start a new request.
function Granted(props: { sessionId: string; granted: ConsentCapability[]; canAsk: boolean }) {
  const missing = CONSENT_CAPABILITIES.filter((c) => !props.granted.includes(c));
  return (
    <div class="granted" data-granted={props.granted.join(" ")}>
      <p>
        Allowed: <strong>{capabilityList(props.granted)}</strong>
      </p>
      {props.canAsk && missing.length > 0 && (
        <div class="ask-again row">
          {missing.map((capability) => (
            <PostForm action={`/sessions/${props.sessionId}/authorize`}>
              <input type="hidden" name="capabilities" value={capability} />
              <button type="submit" data-ask={capability}>{ASK_FOR_CAPABILITY[capability]}</button>
            </PostForm>
          ))}
        </div>
      )}
    </div>
  );
}

function State(props: { model: SessionPanelModel }) {
  const session = props.model.session!;
  const view = session.view;
  switch (view.kind) {
    case "authorizing":
      return (
        <div class="session-state waiting" role="status">
          {view.texts.map((t) => <p key={t}>{t}…</p>)}
          {view.skippedConfirmation && (
            <p class="notice skipped-confirmation" data-skipped={view.skippedConfirmation.reason}>
              {view.skippedConfirmation.text}
            </p>
          )}
          {view.reason && <p class="hint" data-reason>Reason: {view.reason}</p>}
          {session.emailWaitingFor && (
            <p class="hint" data-waiting-for>Waiting for: {session.emailWaitingFor}</p>
          )}
          <Approvals view={view} lines={session.approvalLines ?? []} />
          {view.countdowns.length > 1
            ? (
              // Two gates wait at once: each has its own deadline, and either may end it first.
              <ul class="plain countdowns">
                {view.countdowns.map((c) => (
                  <li key={c.gate} class="countdown" data-countdown={c.gate}>
                    {c.label}: <strong data-deadline={c.deadline}>{c.secondsLeft}</strong>{" "}
                    {t("en", "count.seconds_left", { count: c.secondsLeft })}
                  </li>
                ))}
              </ul>
            )
            : (
              <p class="countdown">
                <strong data-deadline={view.deadline} data-bar="wait-bar">
                  {view.secondsLeft}
                </strong>{" "}
                {t("en", "count.seconds_left", { count: view.secondsLeft })}
              </p>
            )}
          {session.waitSeconds !== null && (
            <progress id="wait-bar" max={session.waitSeconds} value={view.secondsLeft}>
              {t("en", "count.seconds", { count: view.secondsLeft })}
            </progress>
          )}
          <PostForm action={`/sessions/${session.id}/cancel`}>
            <button type="submit">{CANCEL_REQUEST}</button>
          </PostForm>
        </div>
      );
    case "authorized":
      return (
        <div class="session-state authorized" role="status">
          <p>
            <span class="badge badge-ok">Authorized</span> {view.text}
          </p>
          {
            /* The page script opens what this browser's request asked for (once), unless the
             technician's account says to stay here. */
          }
          <span
            hidden
            data-opens-after={session.id}
            data-open={props.model.openWhenAuthorized ? "1" : "0"}
            data-remote={props.model.actions.take_remote_control.enabled
              ? `/sessions/${session.id}/remote`
              : undefined}
            data-files={props.model.actions.file_transfer.enabled
              ? `/sessions/${session.id}/files`
              : undefined}
          >
          </span>
          {view.notice && <p class="notice">{view.notice}</p>}
          {view.skippedConfirmation && (
            <p class="notice skipped-confirmation" data-skipped={view.skippedConfirmation.reason}>
              {view.skippedConfirmation.text}
            </p>
          )}
          {view.notified && <p class="notice notified">{END_USER_NOTIFIED}</p>}
          <p>
            Until <Time at={view.expiresAt} /> ·{" "}
            <strong data-deadline={view.expiresAt} data-format="clock">{view.secondsLeft}</strong>
            {" "}
            left
          </p>
          <Granted
            sessionId={session.id}
            granted={view.capabilities}
            canAsk={props.model.actions.take_remote_control.enabled ||
              props.model.actions.file_transfer.enabled ||
              props.model.actions.take_remote_control.code === "not_granted" ||
              props.model.actions.file_transfer.code === "not_granted"}
          />
        </div>
      );
    case "closed":
      return <p class="session-state">{view.text}</p>;
    case "unauthorized":
      if (view.outcome && !session.outcomeDismissed) {
        const o = view.outcome;
        return (
          <div class="outcome" role="alert" data-outcome={o.outcome}>
            <h3>{o.heading}</h3>
            <p class="outcome-device">{o.deviceName ?? props.model.deviceName}</p>
            <p class="outcome-label">{o.reasonLabel}</p>
            <p class="outcome-reason">{o.reason}</p>
            {o.by && <p class="outcome-by">By {o.by}</p>}
            {session.outcomeComment && (
              <p class="outcome-comment" data-comment>Comment: {session.outcomeComment}</p>
            )}
            <PostForm action={`/sessions/${session.id}/dismiss`}>
              <input type="hidden" name="attemptId" value={session.lastAttemptId ?? ""} />
              <button type="submit">{o.closeLabel}</button>
            </PostForm>
          </div>
        );
      }
      return (
        <p class="session-state">
          <span class="badge">Not authorized</span> {view.text}
        </p>
      );
  }
}

/** The panel; replaced in place when the session or the device changes. */
export function SessionPanel(props: { model: SessionPanelModel }) {
  const m = props.model;
  return (
    <section class="card session-panel" aria-labelledby="session-heading">
      <div class="card-head">
        <h2 id="session-heading">{m.attended ? "Customer permission" : "Support session"}</h2>
        {m.session?.asUser && <span class="muted">as {m.session.asUser}</span>}
      </div>
      {m.session && m.session.view.kind !== "closed"
        ? <State model={m} />
        : m.attended
        ? (
          <p class="session-state">
            The customer allows or declines each request in the support app.
          </p>
        )
        : (
          <PostForm action={`/devices/${m.deviceId}/sessions`} class="connect">
            <p>Open a support session to request authorization on this device.</p>
            <div class="actions-row">
              <button type="submit" class="primary" name="asUser" value="">Connect directly</button>
              {m.users.length > 0 && (
                <>
                  <label for="as-user" class="sr">Connect as</label>
                  <select id="as-user" name="asUserPick">
                    {m.users.map((u) => <option key={u} value={u}>{u}</option>)}
                  </select>
                  <button type="submit" name="mode" value="as-user">Connect as user</button>
                </>
              )}
            </div>
          </PostForm>
        )}
      <div class="actions" role="group" aria-label="Actions">
        {ORDER.map((name) => (
          <ActionButton
            key={name}
            name={name}
            state={m.actions[name]}
            sessionId={m.session && m.session.view.kind !== "closed" ? m.session.id : null}
            deviceId={m.deviceId}
            attended={m.attended}
            request={m.request}
          />
        ))}
      </div>
      {!m.attended && m.session && m.session.view.kind !== "closed" && (
        <PostForm action={`/sessions/${m.session.id}/close`} class="close-session">
          <button type="submit" class="link">End support session</button>
        </PostForm>
      )}
    </section>
  );
}
