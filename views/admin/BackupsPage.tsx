/** Admin: scheduled backups, how old the newest is, and how to take and restore one. */
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** What the page shows; sizes in bytes, ages in milliseconds. */
export interface BackupsView {
  schedule: { dir: string; every: string; keep: number } | null;
  backups: { name: string; createdAt: number; bytes: number }[];
  lastAgeMs: number | null;
  /** The newest is older than two intervals: the schedule is not keeping up. */
  overdue: boolean;
  lastError: string | null;
}

/** A plain "3 hours" for an age. */
export function ageText(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  if (minutes < 120) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} hours`;
  return `${Math.floor(hours / 24)} days`;
}

function size(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** The backups page (super admins). */
export function BackupsPage(props: BackupsView) {
  const s = props.schedule;
  return (
    <Layout title="Backups">
      <h1>Backups</h1>
      {s
        ? (
          <p class="lead">
            A backup is written to <code>{s.dir}</code> every {s.every}; the newest {s.keep}{" "}
            are kept.
          </p>
        )
        : (
          <p class="lead">
            Scheduled backups are off. Start the server with <code>--backup-dir</code>{" "}
            (and optionally <code>--backup-every 24h --backup-keep 7</code>) to turn them on.
          </p>
        )}
      {s && (
        <p
          class={props.overdue || props.lastAgeMs === null ? "alert alert-error" : "alert alert-ok"}
          role="status"
          id="last-backup"
        >
          {props.lastAgeMs === null
            ? "No backup has been written yet."
            : `The last backup is ${ageText(props.lastAgeMs)} old.`}
          {props.overdue && " That is more than two intervals: check the server's log."}
        </p>
      )}
      {props.lastError && (
        <p class="alert alert-error" role="alert">
          The last scheduled backup failed: {props.lastError}
        </p>
      )}
      {s && props.backups.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Taken</th>
                <th scope="col">Size</th>
              </tr>
            </thead>
            <tbody>
              {props.backups.map((b) => (
                <tr key={b.name}>
                  <td>
                    <code>{b.name}</code>
                  </td>
                  <td>
                    <Time at={b.createdAt} />
                  </td>
                  <td>{size(b.bytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <section class="card stack">
        <h2>By hand</h2>
        <p>
          <code>assent admin backup FILE</code>{" "}
          writes a backup while the server runs. Each backup holds the instance secret that seals
          the authenticator secrets: keep backups as safe as the server itself.
        </p>
        <p>
          To restore, stop the server, then run <code>assent admin restore FILE</code>{" "}
          into an empty data directory (or add <code>--replace</code>{" "}
          to move the current files aside), and start the server again.
        </p>
      </section>
    </Layout>
  );
}
