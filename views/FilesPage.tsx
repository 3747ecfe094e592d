/** File Transfer: browse the device's folders, download, upload with progress, live transfers. */
import { Time } from "./format.tsx";
import { Live } from "./Live.tsx";

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
  /** The uploading page's own name for it, so that page lists it once (as its own row). */
  tag: string | null;
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
  /** The folder on show; null until the panel is first shown (it then loads itself). */
  listing:
    | { path: string; parent: string | null; entries: ListingEntry[]; truncated: boolean }
    | null;
  listingError: string | null;
  transfers: TransferItem[];
  maxBytes: number;
}

/** The folder view of the files panel: its listing, or why there is none. */
export interface BrowseModel {
  sessionId: string;
  listing: FilesModel["listing"];
  listingError: string | null;
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
          <li
            key={t.id}
            class={`transfer ${t.state}`}
            data-transfer={t.id}
            data-tag={t.tag ?? undefined}
          >
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

/** The URL of a folder view, full page or (`part`) the browse region alone. */
function folderUrl(sessionId: string, path: string, part = false): string {
  return `/sessions/${sessionId}/files${part ? "/browse" : ""}?path=${encodeURIComponent(path)}`;
}

/** A link to a folder: a full page without scripts, the browse region swapped in with them. */
function FolderLink(
  props: { sessionId: string; path: string; children: preact.ComponentChildren; class?: string },
) {
  return (
    <a
      class={props.class}
      href={folderUrl(props.sessionId, props.path)}
      hx-get={folderUrl(props.sessionId, props.path, true)}
      hx-target="#files-browse"
      hx-swap="outerHTML"
    >
      {props.children}
    </a>
  );
}

/**
 * The folder on show. It re-fetches itself when files change (an upload finished), so what the
 * technician just sent is listed without a reload.
 */
export function FilesBrowse(props: { model: BrowseModel }) {
  const m = props.model;
  const l = m.listing;
  const self = l ? folderUrl(m.sessionId, l.path, true) : `/sessions/${m.sessionId}/files/browse`;
  return (
    <div
      id="files-browse"
      data-path={l?.path}
      hx-get={self}
      hx-trigger="files-changed from:body"
      hx-swap="outerHTML"
    >
      {m.listingError && (
        <p class="alert alert-error" role="alert" id="files-browse-error">{m.listingError}</p>
      )}
      {l && (
        <>
          <p class="path mono">
            {l.parent !== null && (
              <FolderLink sessionId={m.sessionId} path={l.parent}>↑ Up</FolderLink>
            )} <span id="files-here">{l.path}</span>
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
                              <FolderLink sessionId={m.sessionId} path={e.path}>
                                📁 {e.name}
                              </FolderLink>
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
      {!l && !m.listingError && <p class="muted">Loading the folder…</p>}
    </div>
  );
}

/** The files panel of the workspace: upload, the transfers, and the device's folders. */
export function FilesPanel(props: { model: FilesModel }) {
  const m = props.model;
  const l = m.listing;
  const uploadRoot = m.roots.find((r) => r.label === "Upload folder")?.path ?? null;
  // Uploads go to the upload folder, or to the folder on show when the technician says so.
  const here = l && l.path !== uploadRoot ? l.path : null;
  return (
    <div class="files-layout" hx-ext="sse" sse-connect={`/sessions/${m.sessionId}/events`}>
      <section class="card">
        <h2>Send files to the device</h2>
        <form
          id="upload-form"
          class="stack"
          data-upload={`/sessions/${m.sessionId}/files/upload`}
          data-mkdir={`/sessions/${m.sessionId}/files/folder`}
          data-max={m.maxBytes}
          data-upload-root={uploadRoot ?? undefined}
        >
          <div class="field">
            <label for="upload-files">Files</label>
            <input id="upload-files" type="file" multiple required />
            <p class="hint" id="upload-hint">
              At most {formatBytes(m.maxBytes)}{" "}
              each. Checked with SHA-256 end to end. You can also drop files or folders on the
              folder below.
            </p>
          </div>
          <div class="field">
            <label for="upload-dir">Or a whole folder</label>
            {/* Chosen, it uploads at once, its folders made on the device as they are here. */}
            <input
              id="upload-dir"
              type="file"
              multiple
              aria-describedby="upload-dir-hint"
              {...{ webkitdirectory: "" }}
            />
            <p class="hint" id="upload-dir-hint">
              Its folders are made in the place chosen under Save in.
            </p>
          </div>
          <div class="field">
            <label for="upload-folder">Save in</label>
            <select id="upload-folder" name="folder">
              <option value="">The device's upload folder (usually Downloads)</option>
              <option value={here ?? ""} hidden={!here} id="upload-folder-here">
                {here ? `This folder: ${here}` : "This folder"}
              </option>
            </select>
          </div>
          <button type="submit" class="primary">Upload</button>
        </form>
      </section>
      <section class="card">
        <h2>Transfers</h2>
        <ul id="uploads" class="transfers" aria-live="polite"></ul>
        <Live
          id="transfers"
          url={`/sessions/${m.sessionId}/transfers`}
          event="transfer"
        >
          <TransferList sessionId={m.sessionId} transfers={m.transfers} />
        </Live>
      </section>
      <section class="card browse" id="files-drop" aria-labelledby="files-h">
        <h2 id="files-h">Files on the device</h2>
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
                    <FolderLink class="mono" sessionId={m.sessionId} path={r.path}>
                      {r.path}
                    </FolderLink>{" "}
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
        <form
          class="inline path-box"
          method="get"
          action={`/sessions/${m.sessionId}/files`}
          hx-get={`/sessions/${m.sessionId}/files/browse`}
          hx-target="#files-browse"
          hx-swap="outerHTML"
        >
          <label for="files-path">Go to folder</label>
          <input
            id="files-path"
            name="path"
            class="mono"
            required
            maxlength={4096}
            value={l?.path ?? ""}
            autocomplete="off"
            spellcheck={false}
          />
          <button type="submit">Go</button>
        </form>
        {l || m.listingError
          ? (
            <FilesBrowse
              model={{
                sessionId: m.sessionId,
                listing: l,
                listingError: m.listingError,
              }}
            />
          )
          : (
            // Loaded when the panel is first shown, so a visit to the terminal costs the
            // device no folder listing.
            <div
              id="files-browse"
              hx-get={`/sessions/${m.sessionId}/files/browse`}
              hx-trigger="intersect once"
              hx-swap="outerHTML"
            >
              <p class="muted">Loading the folder…</p>
            </div>
          )}
      </section>
    </div>
  );
}
