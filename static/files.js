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

function row(file) {
  const li = document.createElement("li");
  li.className = "transfer running";
  li.innerHTML =
    `<div class="transfer-head"><span class="transfer-name"></span><span class="muted detail"></span></div>
    <progress max="1" value="0"></progress>
    <div class="transfer-foot"><span class="state">Checking…</span><button type="button" class="link cancel">Cancel</button></div>`;
  li.querySelector(".transfer-name").textContent = `↑ ${file.name}`;
  li.dataset.upload = file.name;
  list.prepend(li);
  return {
    li,
    bar: li.querySelector("progress"),
    detail: li.querySelector(".detail"),
    state: li.querySelector(".state"),
    cancel: li.querySelector(".cancel"),
  };
}

function send(file, sha256, overwrite, ui) {
  return new Promise((resolve) => {
    const folder = document.getElementById("upload-folder")?.value ?? "";
    const url = `${form.dataset.upload}?${new URLSearchParams({
      name: file.name,
      ...(folder ? { folder } : {}),
      size: String(file.size),
      sha256,
      overwrite: overwrite ? "1" : "0",
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

async function upload(file) {
  const ui = row(file);
  if (file.size > Number(form.dataset.max)) {
    ui.state.textContent = `Too large: the limit is ${size(Number(form.dataset.max))}`;
    ui.li.className = "transfer failed";
    ui.cancel.remove();
    return;
  }
  const sha256 = await hashFile(file, (done) => {
    ui.bar.max = file.size || 1;
    ui.bar.value = done;
    ui.state.textContent = `Checking… ${Math.round((done / (file.size || 1)) * 100)} %`;
  });
  let result = await send(file, sha256, false, ui);
  if (result.status === 409 && result.body.code === "exists") {
    if (confirm(`${result.body.error}. Replace it?`)) result = await send(file, sha256, true, ui);
  }
  ui.cancel.remove();
  if (result.status === 200 && result.body.ok) {
    ui.li.className = "transfer completed";
    ui.bar.value = ui.bar.max;
    ui.state.textContent = `Saved as ${result.body.path} · SHA-256 ${
      result.body.sha256.slice(0, 16)
    }…`;
  } else {
    ui.li.className = `transfer ${result.cancelled ? "cancelled" : "failed"}`;
    ui.state.textContent = result.body.error ?? `Upload failed (${result.status})`;
  }
}

form?.addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("upload-files");
  const files = [...input.files];
  input.value = "";
  for (const file of files) await upload(file);
});

// Once the authorization ends the server refuses every transfer; say so instead of failing later.
function followSession() {
  const ended = document.querySelector('#session-bar [data-state="ended"]');
  const button = form?.querySelector('button[type="submit"]');
  const input = document.getElementById("upload-files");
  if (button) button.disabled = !!ended;
  if (input) input.disabled = !!ended;
  document.querySelector(".files-layout")?.classList.toggle("ended", !!ended);
}
document.body.addEventListener("htmx:afterSwap", (e) => {
  if (e.target?.id === "session-bar") followSession();
});
followSession();
