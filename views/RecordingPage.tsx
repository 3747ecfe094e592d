/** Playing back a recorded terminal: xterm.js, play/pause, seek, speed, and the .cast file. */
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";

/** The playback page's model. */
export interface RecordingPageModel {
  id: string;
  deviceName: string;
  technician: string;
  startedAt: number;
  endedAt: number | null;
  sha256: string | null;
  sessionHref: string;
  /** The file is gone: its retention ended. */
  deletedAt: number | null;
}

/** /recordings/:id. */
export function RecordingPage(props: { model: RecordingPageModel }) {
  const m = props.model;
  return (
    <Layout
      title={`Terminal recording · ${m.deviceName}`}
      wide
      styles={["vendor/xterm/xterm.css"]}
      modules={m.deletedAt === null && m.endedAt !== null ? ["player.js"] : []}
    >
      <div class="page-head">
        <h1>Terminal recording on {m.deviceName}</h1>
      </div>
      <dl class="facts card">
        <dt>Technician</dt>
        <dd>{m.technician}</dd>
        <dt>Started</dt>
        <dd>
          <Time at={m.startedAt} />
        </dd>
        <dt>Ended</dt>
        <dd>
          <Time at={m.endedAt} empty="Still recording" />
        </dd>
        <dt>SHA-256</dt>
        <dd class="mono">{m.sha256 ?? "—"}</dd>
      </dl>
      <p>
        <a href={m.sessionHref}>The session's timeline</a>
      </p>
      {m.deletedAt !== null
        ? (
          <p class="empty">
            This recording was deleted <Time at={m.deletedAt} />{" "}
            at the end of its retention; the audit log keeps its record and hash.
          </p>
        )
        : m.endedAt === null
        ? (
          <p class="empty">
            This terminal is still open; its recording can be played once it ends.
          </p>
        )
        : (
          <section class="player" data-cast={`/recordings/${m.id}/cast?play=1`}>
            <div class="player-controls" role="group" aria-label="Playback">
              <button type="button" id="player-toggle">Play</button>
              <label>
                <span class="sr">Position</span>
                <input
                  type="range"
                  id="player-seek"
                  min="0"
                  max="0"
                  step="0.001"
                  value="0"
                  aria-label="Position"
                />
              </label>
              <span id="player-time" class="mono">0:00 / 0:00</span>
              <label>
                Speed{" "}
                <select id="player-speed">
                  <option value="0.5">0.5×</option>
                  <option value="1" selected>1×</option>
                  <option value="2">2×</option>
                  <option value="4">4×</option>
                </select>
              </label>
              <a class="button" href={`/recordings/${m.id}/cast`} download>Download .cast</a>
            </div>
            <div id="player-terminal" class="terminal"></div>
          </section>
        )}
    </Layout>
  );
}
