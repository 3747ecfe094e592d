// Plays an asciicast v2 recording in xterm.js: play/pause, seek (by replaying the output up to
// that moment), speed. Input events are shown as they were typed only through their echo.

const nonce = document.querySelector('meta[name="style-nonce"]')?.content;
if (nonce) {
  const create = Document.prototype.createElement;
  Document.prototype.createElement = function (tag, options) {
    const el = create.call(this, tag, options);
    if (String(tag).toLowerCase() === "style") el.nonce = nonce;
    return el;
  };
}

const section = document.querySelector("section.player");
if (section) start(section);

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function start(section) {
  const { Terminal } = await import("./vendor/xterm/xterm.mjs");
  const res = await fetch(section.dataset.cast, { credentials: "same-origin" });
  const lines = (await res.text()).split("\n").filter((l) => l !== "");
  const header = JSON.parse(lines[0]);
  const events = lines.slice(1).map((l) => JSON.parse(l));
  const duration = events.length ? events[events.length - 1][0] : 0;
  const term = new Terminal({
    cols: header.width,
    rows: header.height,
    disableStdin: true,
    convertEol: false,
  });
  term.open(document.getElementById("player-terminal"));
  globalThis.assentPlayer = term;

  const toggle = document.getElementById("player-toggle");
  const seek = document.getElementById("player-seek");
  const time = document.getElementById("player-time");
  const speed = document.getElementById("player-speed");
  seek.max = String(duration);

  let position = 0; // seconds into the recording
  let next = 0; // index of the next event to apply
  let playing = false;
  let last = 0;

  const apply = (event) => {
    const [, code, data] = event;
    if (code === "o") term.write(data);
    else if (code === "r") {
      const [cols, rows] = String(data).split("x").map(Number);
      if (cols > 0 && rows > 0) term.resize(cols, rows);
    }
  };
  const show = () => {
    seek.value = String(position);
    time.textContent = `${clock(position)} / ${clock(duration)}`;
    // xterm.js parses writes asynchronously: say where the screen is once it shows it.
    const shown = position;
    term.write("", () => (section.dataset.position = shown.toFixed(3)));
  };
  const advanceTo = (target) => {
    if (target < position) {
      term.reset();
      term.resize(header.width, header.height);
      next = 0;
    }
    position = target;
    while (next < events.length && events[next][0] <= position) apply(events[next++]);
    show();
  };
  const frame = (now) => {
    if (!playing) return;
    const target = Math.min(duration, position + ((now - last) / 1000) * Number(speed.value));
    last = now;
    advanceTo(target);
    if (position >= duration) {
      playing = false;
      toggle.textContent = "Play";
      section.dataset.state = "ended";
      return;
    }
    requestAnimationFrame(frame);
  };
  toggle.addEventListener("click", () => {
    playing = !playing;
    toggle.textContent = playing ? "Pause" : "Play";
    section.dataset.state = playing ? "playing" : "paused";
    if (playing) {
      if (position >= duration) advanceTo(0);
      last = performance.now();
      requestAnimationFrame(frame);
    }
  });
  seek.addEventListener("input", () => advanceTo(Number(seek.value)));
  section.dataset.state = "ready";
  show();
}
