/** A support session's story from open to end, one event after another. */
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { type AuditEntryModel, OutcomeBadge, Sentence } from "./AuditPage.tsx";

/** The timeline page's model. */
export interface SessionTimelineModel {
  id: string;
  device: { name: string; href: string | null };
  technician: string;
  openedAt: number;
  /** The session's state now, in words. */
  state: string;
  events: AuditEntryModel[];
  /** More events than the page shows; the audit log has them all. */
  truncated: boolean;
  /** The session's terminal recordings, to play back. */
  recordings: { href: string; startedAt: number; ended: boolean; deleted: boolean }[];
  /** The consent receipts of the session's ended authorizations, newest first. */
  receipts?: { href: string; endedAt: number; ending: string }[];
}

const STATES: Readonly<Record<string, string>> = {
  unauthorized: "Open, not authorized",
  authorizing: "Waiting for authorization",
  authorized: "Authorized",
  closed: "Closed",
};

/** The state of a session as the timeline names it. */
export function sessionStateText(status: string): string {
  return STATES[status] ?? status;
}

/** /audit/sessions/:id. */
export function SessionTimelinePage(props: { model: SessionTimelineModel }) {
  const m = props.model;
  return (
    <Layout title={`Session on ${m.device.name}`}>
      <div class="page-head">
        <h1>
          Support session on{" "}
          {m.device.href ? <a href={m.device.href}>{m.device.name}</a> : m.device.name}
        </h1>
      </div>
      <dl class="facts card">
        <dt>Technician</dt>
        <dd>{m.technician}</dd>
        <dt>Opened</dt>
        <dd>
          <Time at={m.openedAt} />
        </dd>
        <dt>Now</dt>
        <dd>{m.state}</dd>
        <dt>Session</dt>
        <dd class="mono">{m.id}</dd>
      </dl>
      <p>
        <a href={`/audit?session=${encodeURIComponent(m.id)}`}>These events in the audit log</a>
      </p>
      {m.recordings.length > 0 && (
        <section class="card">
          <h2>Terminal recordings</h2>
          <ul class="recordings">
            {m.recordings.map((r) => (
              <li key={r.href}>
                <a href={r.href}>Terminal recorded at</a> <Time at={r.startedAt} />
                {r.deleted
                  ? <span class="muted">(deleted at the end of its retention)</span>
                  : !r.ended && <span class="muted">(still recording)</span>}
              </li>
            ))}
          </ul>
        </section>
      )}
      {(m.receipts?.length ?? 0) > 0 && (
        <section class="card">
          <h2>Consent receipts</h2>
          <ul class="receipts">
            {m.receipts!.map((r) => (
              <li key={r.href}>
                <a href={r.href}>Consent receipt</a> of the authorization ended{" "}
                <Time at={r.endedAt} />: {r.ending}
              </li>
            ))}
          </ul>
        </section>
      )}
      {m.events.length === 0
        ? <p class="empty">Nothing was recorded for this session.</p>
        : (
          <ol class="timeline" aria-label="What happened, oldest first">
            {m.events.map((e) => (
              <li key={e.id} class="timeline-event" data-seq={e.seq}>
                <p class="timeline-when">
                  <Time at={e.at} />
                </p>
                <div class="timeline-what">
                  <p class="timeline-head">
                    <strong>{e.actionLabel}</strong>{" "}
                    <OutcomeBadge outcome={e.outcome} text={e.outcomeText} />
                  </p>
                  <p class="muted timeline-who">
                    {e.who.name} · {e.who.role}
                  </p>
                  {e.sentences.length > 0 && (
                    <ul class="timeline-detail">
                      {e.sentences.map((s, i) => (
                        <li key={i}>
                          <Sentence words={s} />
                        </li>
                      ))}
                    </ul>
                  )}
                  {e.receiptHref && <a href={e.receiptHref}>View the consent receipt</a>}
                </div>
              </li>
            ))}
          </ol>
        )}
      {m.truncated && (
        <p class="muted">
          Only the last events are shown here; the audit log has every one.
        </p>
      )}
    </Layout>
  );
}
