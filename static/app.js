// Assent's own browser code: progressive enhancement only; every page works without it.
"use strict";

// Countdowns: any element with data-deadline (epoch ms) shows the seconds left, live. One with
// data-left-ms counts down from the time left as the server measured it when it rendered, so a
// wrong clock in this browser cannot show more (or less) time than the server will allow.
function tickCountdowns() {
  const now = Date.now();
  for (const el of document.querySelectorAll("[data-left-ms]")) {
    el.dataset.deadline = String(now + Number(el.dataset.leftMs));
    delete el.dataset.leftMs;
  }
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const left = Math.max(0, Math.ceil((Number(el.dataset.deadline) - now) / 1000));
    const text = el.dataset.format === "clock" ? formatClock(left) : String(left);
    if (el.textContent !== text) el.textContent = text;
    const bar = el.dataset.bar && document.getElementById(el.dataset.bar);
    if (bar) bar.value = left;
  }
}

function formatClock(seconds) {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, "0");
  return (h > 0 ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
}

// Local times: <time data-local datetime="..."> shows the viewer's local time (data-local="clock":
// the hour and minute, with the day when it is not today). The stylesheet hides them until this
// ran, so UTC never flashes.
function localizeTimes(root) {
  for (const el of root.querySelectorAll("time[data-local]:not(.localized)")) {
    const d = new Date(el.getAttribute("datetime"));
    if (!isNaN(d)) {
      // A clock time of another day than today names its day too.
      const today = d.toDateString() === new Date().toDateString();
      el.textContent = el.dataset.local !== "clock"
        ? d.toLocaleString()
        : today
        ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
        : d.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    }
    el.classList.add("localized");
  }
  // Filters that take a local time say which zone and send its offset along.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const el of root.querySelectorAll("[data-zone-name]")) el.textContent = zone;
  for (const el of root.querySelectorAll("input[data-zone-offset]")) {
    el.value = String(new Date().getTimezoneOffset());
  }
}

// Copy buttons: <button data-copy="#id"> copies that element's text.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  const text = "value" in source ? source.value : source.textContent;
  const label = button.dataset.label ?? (button.dataset.label = button.textContent);
  const say = (word) => {
    button.textContent = word;
    setTimeout(() => (button.textContent = label), 2500);
  };
  // Pages served over plain http (not localhost) have no clipboard API: select the text instead,
  // so one keystroke copies it.
  const select = () => {
    if ("select" in source) source.select();
    else getSelection()?.selectAllChildren(source);
    say(
      /Mac|iPhone|iPad/.test(navigator.userAgent) ? "Selected: press ⌘C" : "Selected: press Ctrl+C",
    );
  };
  if (!navigator.clipboard) return select();
  navigator.clipboard.writeText(text.trim()).then(() => say("Copied"), select);
});

// Forms with data-confirm ask before they submit something that cannot be undone.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset?.confirm;
  if (question && !confirm(question)) event.preventDefault();
  if (event.defaultPrevented) return;
  // Request Authorization: remember what the technician came for (?then=terminal, desktop or
  // files; the terminal by default), to open it once the request is authorized.
  const asked = event.target.action?.match(/\/sessions\/([^/]+)\/authorize$/);
  if (asked) {
    const then = sessionStorage.getItem(`assent-then:${location.pathname}`) ?? "terminal";
    sessionStorage.setItem(`assent-open:${asked[1]}`, then);
  }
});

// ?then= survives the device page's own redirects (Connect directly, Secure Connect).
{
  const then = new URLSearchParams(location.search).get("then");
  if (then && ["terminal", "desktop", "files"].includes(then)) {
    sessionStorage.setItem(`assent-then:${location.pathname}`, then);
  }
}

// A request this browser made was authorized: open what it was for, once, unless the
// technician's account says to stay on the device page.
function openWhenAuthorized() {
  const marker = document.querySelector("[data-opens-after]");
  if (!marker) return;
  const key = `assent-open:${marker.dataset.opensAfter}`;
  const then = sessionStorage.getItem(key);
  if (then === null) return;
  sessionStorage.removeItem(key);
  if (marker.dataset.open !== "1") return;
  const url = then === "files"
    ? marker.dataset.files ?? marker.dataset.remote
    : marker.dataset.remote
    ? `${marker.dataset.remote}${then === "desktop" ? "?view=desktop" : ""}`
    : marker.dataset.files;
  if (url) location.assign(url);
}

// A refused form comes back with its fields marked: the focus goes to the first one, so a
// keyboard or screen-reader user lands where the fixing starts.
function focusFirstError(root) {
  const first = root.querySelector('[aria-invalid="true"]');
  if (first && !root.querySelector("[autofocus]")) first.focus();
}

document.addEventListener("DOMContentLoaded", () => {
  focusFirstError(document);
  openWhenAuthorized();
  localizeTimes(document);
  tickCountdowns();
  setInterval(tickCountdowns, 250);
});
// An input kept as typed across a redraw (hx-preserve) keeps its old attributes too: it takes
// its error state from the redrawn field, whose error line is there or not.
function syncPreservedErrors(root) {
  for (const input of root.querySelectorAll("[hx-preserve][id]")) {
    const error = document.getElementById(`${input.id}-error`);
    const hint = document.getElementById(`${input.id}-hint`);
    if (error) {
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", error.id);
    } else {
      input.removeAttribute("aria-invalid");
      if (hint) input.setAttribute("aria-describedby", hint.id);
      else input.removeAttribute("aria-describedby");
    }
  }
}

// A live redraw replaces the control the keyboard was on. htmx puts the focus back on a control
// with an id; for the others the focus goes to the same control in the new markup (the same
// kind, link, name, form and words), so a live page never drops a keyboard user's place.
function controlKey(el) {
  return [
    el.tagName,
    el.id,
    el.getAttribute("href"),
    el.getAttribute("name"),
    el.dataset.action,
    el.closest("form")?.getAttribute("action"),
    el.textContent.trim(),
  ].join("\u0000");
}
let focusedBeforeSwap = null;
document.addEventListener("htmx:beforeSwap", (event) => {
  const active = document.activeElement;
  focusedBeforeSwap = active && active !== document.body && event.detail.target.contains(active)
    ? { tag: active.tagName, key: controlKey(active) }
    : null;
});

// Swapped-in content is localized before it is shown, not after.
document.addEventListener("htmx:afterSwap", (event) => {
  localizeTimes(event.target);
  syncPreservedErrors(event.target);
  const focused = focusedBeforeSwap;
  focusedBeforeSwap = null;
  if (!focused || (document.activeElement && document.activeElement !== document.body)) return;
  for (const el of event.target.querySelectorAll(focused.tag)) {
    if (controlKey(el) === focused.key) {
      el.focus({ preventScroll: true });
      return;
    }
  }
});
document.addEventListener("htmx:afterSettle", (event) => {
  openWhenAuthorized();
  localizeTimes(event.target);
  tickCountdowns();
});
