/** File Transfer: browse the device's folders, download, upload with progress, live transfers. */
import { FILE_TRANSFER, TAKE_REMOTE_CONTROL } from "../core/mod.ts";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";
import { Live } from "./Live.tsx";
import type { SessionBarModel } from "../presenters/device_views.ts";
import { SessionBar } from "./RemotePage.tsx";

/** One entry of a folder listing. */
export interface ListingEntry {
  name: string;
  kind: "file" | "dir" | "link" | "other";
  size: number | null;
  modified: number | null;
  path: string;
}

/** A transfer in progress or just finished. */
export interface TransferItem {
  id: number;
  direction: "upload" | "download";
  name: string;
  size: number | null;
  bytes: number;
  bytesPerSecond: number;
  state: "running" | "completed" | "failed" | "cancelled";
  message: string | null;
  sha256: string | null;
}

/** A folder file transfer may reach on the device: a starting place of the page. */
export interface ReachRootItem {
  path: string;
  /** Why it may be reached: "Upload folder", "Home folder of ann", "Added by an admin". */
  label: string;
}

/** What the files page shows. */
export interface FilesModel {
  /** The folders file transfer may reach on this device, as starting places. */
  roots: ReachRootItem[];
  sessionId: string;
  deviceId: string;
  deviceName: string;
  bar: SessionBarModel;
  listing:
    | { path: string; parent: string | null; entries: ListingEntry[]; truncated: boolean }
    | null;
  listingError: string | null;
  transfers: TransferItem[];
  maxBytes: number;
  remoteControl: boolean;
}

/** Bytes in a human unit. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n < 10 && u > 0 ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}

/** The live list of transfers. */
export function TransferList(props: { sessionId: string; transfers: TransferItem[] }) {
  if (props.transfers.length === 0) return <p class="empty">No transfers yet.</p>;
  return (
    <ul class="transfers">
      {props.transfers.map((t) => {
        const left = t.size !== null && t.bytesPerSecond > 0
          ? Math.ceil((t.size - t.bytes) / t.bytesPerSecond)
          : null;
        return (
          <li key={t.id} class={`transfer ${t.state}`} data-transfer={t.id}>
            <div class="transfer-head">
              <span class="transfer-name">
                {t.direction === "upload" ? "↑" : "↓"} {t.name}
              </span>
              <span class="muted">
                {formatBytes(t.bytes)} of {formatBytes(t.size)}
                {t.state === "running" && t.bytesPerSecond > 0 &&
                  ` · ${formatBytes(t.bytesPerSecond)}/s${
                    left !== null ? ` · ${left} s left` : ""
                  }`}
              </span>
            </div>
            <progress max={t.size ?? 1} value={t.size === null ? undefined : t.bytes}></progress>
            <div class="transfer-foot">
              <span>
                {t.state === "running"
                  ? "Transferring…"
                  : t.state === "completed"
                  ? `Done · SHA-256 ${t.sha256?.slice(0, 16)}…`
                  : t.message ?? t.state}
              </span>
              {t.state === "running" && (
                <button
                  type="button"
                  class="link"
                  hx-post={`/sessions/${props.sessionId}/transfers/${t.id}/cancel`}
                  hx-swap="none"
                >
                  Cancel
                </button>
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

/** The files page. */
export function FilesPage(props: { model: FilesModel }) {
  const m = props.model;
  const l = m.listing;
  const uploadRoot = m.roots.find((r) => r.label === "Upload folder")?.path ?? null;
  // Uploads go to the upload folder, or to the folder on show when the technician says so.
  const here = l && l.path !== uploadRoot ? l.path : null;
  return (
    <Layout title={`${FILE_TRANSFER} · ${m.deviceName}`} wide modules={["files.js"]}>
      <SessionBar model={m.bar} />
      <nav class="tabs" aria-label="Remote control">
        {m.remoteControl && (
          <a class="tab" href={`/sessions/${m.sessionId}/remote`}>{TAKE_REMOTE_CONTROL}</a>
        )}
        <a class="tab current" aria-current="page" href={`/sessions/${m.sessionId}/files`}>
          {FILE_TRANSFER}
        </a>
      </nav>
      <div class="files-layout" hx-ext="sse" sse-connect={`/sessions/${m.sessionId}/events`}>
        <section class="card">
          <h2>Send files to the device</h2>
          <form
            id="upload-form"
            class="stack"
            data-upload={`/sessions/${m.sessionId}/files/upload`}
            data-max={m.maxBytes}
          >
            <div class="field">
              <label for="upload-files">Files</label>
              <input id="upload-files" type="file" multiple required />
              <p class="hint">
                At most {formatBytes(m.maxBytes)} each. Checked with SHA-256 end to end.
              </p>
            </div>
            {here
              ? (
                <div class="field">
                  <label for="upload-folder">Save in</label>
                  <select id="upload-folder" name="folder">
                    <option value="">The device's upload folder (usually Downloads)</option>
                    <option value={here}>This folder: {here}</option>
                  </select>
                </div>
              )
              : <p class="hint">Saved in the device's upload folder (usually Downloads).</p>}
            <button type="submit" class="primary">Upload</button>
          </form>
          <ul id="uploads" class="transfers" aria-live="polite"></ul>
        </section>
        <section class="card">
          <h2>Transfers</h2>
          <Live
            id="transfers"
            url={`/sessions/${m.sessionId}/transfers`}
            event="transfer"
          >
            <TransferList sessionId={m.sessionId} transfers={m.transfers} />
          </Live>
        </section>
        <section class="card browse">
          <h2>Files on the device</h2>
          <nav aria-labelledby="roots-h" class="reach-roots">
            <h3 id="roots-h">File transfer may reach</h3>
            {m.roots.length === 0
              ? (
                <p class="empty">
                  Nothing yet: the device has not reported its folders and its department's policy
                  adds none.
                </p>
              )
              : (
                <ul>
                  {m.roots.map((r) => (
                    <li key={r.path}>
                      <a
                        class="mono"
                        href={`/sessions/${m.sessionId}/files?path=${encodeURIComponent(r.path)}`}
                      >
                        {r.path}
                      </a>{" "}
                      <span class="muted">{r.label}</span>
                    </li>
                  ))}
                </ul>
              )}
            <p class="hint">
              The agent never shows its own credential, keys or program, and nothing outside these
              folders.
            </p>
          </nav>
          {m.listingError && <p class="alert alert-error" role="alert">{m.listingError}</p>}
          {l && (
            <>
              <p class="path mono">
                {l.parent !== null && (
                  <a href={`/sessions/${m.sessionId}/files?path=${encodeURIComponent(l.parent)}`}>
                    ↑ Up
                  </a>
                )} {l.path}
              </p>
              {l.entries.length === 0
                ? <p class="empty">This folder is empty.</p>
                : (
                  <div class="table-wrap">
                    <table>
                      <thead>
                        <tr>
                          <th scope="col">Name</th>
                          <th scope="col">Size</th>
                          <th scope="col">Modified</th>
                          <th scope="col">
                            <span class="sr">Actions</span>
                          </th>
                        </tr>
                      </thead>
                      <tbody>
                        {l.entries.map((e) => (
                          <tr key={e.name}>
                            <td class="title">
                              {e.kind === "dir"
                                ? (
                                  <a
                                    href={`/sessions/${m.sessionId}/files?path=${
                                      encodeURIComponent(e.path)
                                    }`}
                                  >
                                    📁 {e.name}
                                  </a>
                                )
                                : e.name}
                            </td>
                            <td data-label="Size">
                              {e.kind === "dir" ? "" : formatBytes(e.size)}
                            </td>
                            <td data-label="Modified">
                              <Time at={e.modified} empty="" />
                            </td>
                            <td class="actions-cell">
                              {e.kind === "file" && (
                                <a
                                  class="button"
                                  href={`/sessions/${m.sessionId}/files/download?path=${
                                    encodeURIComponent(e.path)
                                  }`}
                                  download={e.name}
                                >
                                  Download
                                </a>
                              )}
                            </td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              {l.truncated && <p class="hint">Only the first 2000 entries are shown.</p>}
            </>
          )}
        </section>
      </div>
    </Layout>
  );
}
