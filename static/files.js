// File Transfer in the browser: uploads stream the file to the server (which streams it on to
// the device), with a SHA-256 computed here first so the device can verify what it received.
import { Sha256 } from "./sha256.js";

const form = document.getElementById("upload-form");
const list = document.getElementById("uploads");
const csrf = JSON.parse(document.body.getAttribute("hx-headers") ?? "{}")["X-CSRF-Token"];

const units = ["B", "KiB", "MiB", "GiB"];
function size(n) {
  let u = 0;
  while (n >= 1024 && u < units.length - 1) (n /= 1024), u++;
  return `${n < 10 && u ? n.toFixed(1) : Math.round(n)} ${units[u]}`;
}

async function hashFile(file, progress) {
  const h = new Sha256();
  const step = 4 * 1024 * 1024;
  for (let at = 0; at < file.size; at += step) {
    h.update(new Uint8Array(await file.slice(at, at + step).arrayBuffer()));
    progress(Math.min(file.size, at + step));
  }
  return h.hex();
}

function row(file, label) {
  const li = document.createElement("li");
  li.className = "transfer running";
  li.innerHTML =
    `<div class="transfer-head"><span class="transfer-name"></span><span class="muted detail"></span></div>
    <progress max="1" value="0"></progress>
    <div class="transfer-foot"><span class="state">Checking…</span><button type="button" class="link cancel">Cancel</button></div>`;
  li.querySelector(".transfer-name").textContent = `↑ ${label ?? file.name}`;
  li.dataset.upload = file.name;
  list.prepend(li);
  const tag = crypto.randomUUID();
  ownTags.add(tag);
  hideOwn();
  return {
    tag,
    li,
    bar: li.querySelector("progress"),
    detail: li.querySelector(".detail"),
    state: li.querySelector(".state"),
    cancel: li.querySelector(".cancel"),
  };
}

// This page's uploads are listed by it, with their progress; the server's live list of the
// session's transfers leaves them out (by their tag), so each transfer is listed once.
const ownTags = new Set();
function hideOwn() {
  for (const li of document.querySelectorAll("#transfers li[data-tag]")) {
    li.hidden = ownTags.has(li.dataset.tag);
  }
  const transfers = document.getElementById("transfers");
  const shown = transfers?.querySelectorAll("li:not([hidden])").length ?? 0;
  const empty = transfers?.querySelector(".empty");
  if (transfers) transfers.hidden = shown === 0 && (ownTags.size > 0 || !empty);
}

function send(file, sha256, overwrite, ui, folder) {
  return new Promise((resolve) => {
    const url = `${form.dataset.upload}?${new URLSearchParams({
      name: file.name,
      ...(folder ? { folder } : {}),
      size: String(file.size),
      sha256,
      overwrite: overwrite ? "1" : "0",
      tag: ui.tag,
    })}`;
    const xhr = new XMLHttpRequest();
    const started = performance.now();
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = (e) => {
      const seconds = (performance.now() - started) / 1000;
      const rate = e.loaded / Math.max(seconds, 0.001);
      const left = rate > 0 ? Math.ceil((file.size - e.loaded) / rate) : 0;
      ui.bar.max = file.size || 1;
      ui.bar.value = e.loaded;
      ui.detail.textContent = `${size(e.loaded)} of ${size(file.size)} · ${
        size(rate)
      }/s · ${left} s left`;
      ui.state.textContent = "Uploading…";
    };
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch { /* not JSON */ }
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () =>
      resolve({ status: 0, body: { error: "The connection to the server was lost" } });
    xhr.onabort = () => resolve({ status: 0, body: { error: "Cancelled" }, cancelled: true });
    ui.cancel.onclick = () => xhr.abort();
    xhr.send(file);
  });
}

/**
 * Uploads one file into `folder` ("" is the device's upload folder), listed as `label` (its
 * name); true once saved.
 */
async function upload(file, folder, label) {
  const ui = row(file, label);
  if (file.size > Number(form.dataset.max)) {
    ui.state.textContent = `Too large: the limit is ${size(Number(form.dataset.max))}`;
    ui.li.className = "transfer failed";
    ui.cancel.remove();
    return false;
  }
  const sha256 = await hashFile(file, (done) => {
    ui.bar.max = file.size || 1;
    ui.bar.value = done;
    ui.state.textContent = `Checking… ${Math.round((done / (file.size || 1)) * 100)} %`;
  });
  let result = await send(file, sha256, false, ui, folder);
  if (result.status === 409 && result.body.code === "exists") {
    if (confirm(`${result.body.error}. Replace it?`)) {
      result = await send(file, sha256, true, ui, folder);
    }
  }
  ui.cancel.remove();
  if (result.status === 200 && result.body.ok) {
    ui.li.className = "transfer completed";
    ui.bar.value = ui.bar.max;
    ui.state.textContent = `Saved as ${result.body.path} · SHA-256 ${
      result.body.sha256.slice(0, 16)
    }…`;
    return true;
  }
  ui.li.className = `transfer ${result.cancelled ? "cancelled" : "failed"}`;
  ui.state.textContent = result.body.error ?? `Upload failed (${result.status})`;
  return false;
}

/**
 * Makes the folder `path` ("a/b", relative) within `folder` ("" is the upload folder) on the
 * device; the folder's full path there, or null with the reason shown in the transfer list.
 */
async function makeFolder(path, folder) {
  const params = new URLSearchParams({ path, ...(folder ? { folder } : {}) });
  let body = {};
  let status = 0;
  try {
    const res = await fetch(`${form.dataset.mkdir}?${params}`, {
      method: "POST",
      headers: { "X-CSRF-Token": csrf },
    });
    status = res.status;
    body = await res.json().catch(() => ({}));
  } catch {
    body = { error: "The connection to the server was lost" };
  }
  if (status === 200 && body.ok) return body.path;
  const li = document.createElement("li");
  li.className = "transfer failed";
  li.innerHTML = `<div class="transfer-head"><span class="transfer-name"></span></div>
    <div class="transfer-foot"><span class="state"></span></div>`;
  li.querySelector(".transfer-name").textContent = `↑ ${path}/`;
  li.querySelector(".state").textContent = body.error ?? `The folder could not be made (${status})`;
  list.prepend(li);
  return null;
}

/**
 * Uploads a folder: `entries` are `{file, path}` with `path` relative ("a/b/c.txt"); each
 * folder is made on the device first, then its files go into it.
 */
async function uploadTree(entries, folder) {
  const byFolder = new Map();
  for (const entry of entries) {
    const dir = entry.path.split("/").slice(0, -1).join("/");
    if (!byFolder.has(dir)) byFolder.set(dir, []);
    byFolder.get(dir).push(entry);
  }
  let saved = 0;
  for (const dir of [...byFolder.keys()].sort()) {
    const target = dir === "" ? folder : await makeFolder(dir, folder);
    if (target === null) continue;
    for (const { file, path } of byFolder.get(dir)) {
      if (await upload(file, target, path)) saved++;
    }
  }
  if (saved > 0) document.body.dispatchEvent(new CustomEvent("files-changed"));
}

/** Every file under a dropped folder entry, with its path from the dropped folder's parent. */
async function filesOf(entry, prefix) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, path }];
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const found = [];
  // A directory reader hands out its entries in batches until one comes back empty.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) found.push(...await filesOf(child, path));
  }
  return found;
}

/** Uploads one after another, then has the folder on show list what arrived. */
async function uploadAll(files, folder) {
  let saved = 0;
  for (const file of files) if (await upload(file, folder)) saved++;
  if (saved > 0) document.body.dispatchEvent(new CustomEvent("files-changed"));
}

form?.addEventListener("submit", (e) => {
  e.preventDefault();
  const input = document.getElementById("upload-files");
  const files = [...input.files];
  input.value = "";
  uploadAll(files, document.getElementById("upload-folder")?.value ?? "");
});

document.getElementById("upload-dir")?.addEventListener("change", (e) => {
  const input = e.target;
  const entries = [...input.files].map((file) => ({ file, path: file.webkitRelativePath }));
  input.value = "";
  if (entries.length > 0) {
    uploadTree(entries, document.getElementById("upload-folder")?.value ?? "");
  }
});

// Files and folders dropped on the folder view go into the folder on show.
const drop = document.getElementById("files-drop");
drop?.addEventListener("dragover", (e) => {
  if (![...(e.dataTransfer?.types ?? [])].includes("Files")) return;
  e.preventDefault();
  drop.classList.add("dropping");
});
drop?.addEventListener("dragleave", (e) => {
  if (!drop.contains(e.relatedTarget)) drop.classList.remove("dropping");
});
drop?.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("dropping");
  if (document.querySelector('#session-bar [data-state="ended"]')) return;
  const here = document.getElementById("files-browse")?.dataset.path ?? "";
  const folder = here === form?.dataset.uploadRoot ? "" : here;
  // The entries are only readable during the drop event: take them before awaiting anything.
  const files = [...(e.dataTransfer?.files ?? [])];
  const dropped = [...(e.dataTransfer?.items ?? [])]
    .map((item) => item.kind === "file" ? item.webkitGetAsEntry?.() : null)
    .filter(Boolean);
  if (dropped.some((entry) => entry.isDirectory)) {
    Promise.all(dropped.map((entry) => filesOf(entry, "")))
      .then((found) => uploadTree(found.flat(), folder))
      .catch(() => uploadAll(files, folder));
    return;
  }
  if (files.length > 0) uploadAll(files, folder);
});

// What the technician types in the path box is theirs until they send it: a folder view that
// settles meanwhile (an earlier jump, a refresh after an upload) does not write over it.
const pathBox = document.getElementById("files-path");
let typed = false;
pathBox?.addEventListener("input", () => typed = true);
document.body.addEventListener("htmx:beforeRequest", (e) => {
  const elt = e.detail?.elt;
  // Sent from the box, or a folder link chosen instead: the box follows the folder again.
  if (
    elt === pathBox?.form ||
    (elt?.tagName === "A" && elt.getAttribute("hx-target") === "#files-browse")
  ) {
    typed = false;
  }
});

// The folder on show moved (a folder link, the path box): the path box, the "This folder"
// choice and the address follow it.
function followFolder() {
  const here = document.getElementById("files-browse")?.dataset.path;
  if (!here) return;
  if (pathBox && !typed && !document.getElementById("files-browse-error")) pathBox.value = here;
  const option = document.getElementById("upload-folder-here");
  if (option) {
    const other = here !== form?.dataset.uploadRoot;
    option.hidden = !other;
    option.value = other ? here : "";
    option.textContent = `This folder: ${here}`;
    if (!other && option.selected) document.getElementById("upload-folder").value = "";
  }
  if (!document.getElementById("panel-files")?.hidden) {
    const url = new URL(location.href);
    if (url.pathname.endsWith("/files")) {
      url.searchParams.set("path", here);
      history.replaceState(history.state, "", url);
    }
  }
}

// Once the authorization ends the server refuses every transfer; say so instead of failing later.
function followSession() {
  const ended = document.querySelector('#session-bar [data-state="ended"]');
  const button = form?.querySelector('button[type="submit"]');
  const input = document.getElementById("upload-files");
  const dir = document.getElementById("upload-dir");
  if (button) button.disabled = !!ended;
  if (input) input.disabled = !!ended;
  if (dir) dir.disabled = !!ended;
  document.querySelector(".files-layout")?.classList.toggle("ended", !!ended);
}
document.body.addEventListener("htmx:afterSwap", (e) => {
  if (e.target?.id === "session-bar") followSession();
  if (e.target?.id === "transfers") hideOwn();
});
// The browse region replaces itself (outerHTML): its new self is settled in place.
document.body.addEventListener("htmx:afterSettle", (e) => {
  if (e.target?.id === "files-browse" || e.detail?.elt?.id === "files-browse") followFolder();
});
followSession();
followFolder();
