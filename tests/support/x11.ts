/** A real X display (Xvfb) with something drawn on it, served by a real VNC server (x11vnc). */

import { until } from "./wait.ts";

/** A running display and VNC server. */
export interface VncDesktop extends AsyncDisposable {
  display: string;
  port: number;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts Xvfb on a free display, paints a pattern on it, and serves it with x11vnc. */
export async function startVncDesktop(): Promise<VncDesktop> {
  let n = 70 + Math.floor(Math.random() * 200);
  while (await Deno.stat(`/tmp/.X11-unix/X${n}`).then(() => true, () => false)) n++;
  const display = `:${n}`;
  const xvfb = new Deno.Command("Xvfb", {
    args: [display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await until(
    "Xvfb to start",
    () => Deno.stat(`/tmp/.X11-unix/X${n}`).then(() => true, () => false),
  );
  // Something to see: a Tk window (Tk comes with x11vnc) with shapes and text.
  const painter = new Deno.Command("wish", {
    stdin: "piped",
    stdout: "null",
    stderr: "null",
    env: { DISPLAY: display },
  }).spawn();
  const w = painter.stdin.getWriter();
  await w.write(new TextEncoder().encode(`
    wm geometry . 800x600+0+0
    canvas .c -width 800 -height 600 -bg "#f5f6f8" -highlightthickness 0
    .c create rectangle 40 40 420 300 -fill "#1f4fd1" -outline ""
    .c create oval 460 80 740 360 -fill "#17794a" -outline ""
    .c create text 400 480 -text "Assent test desktop" -font {Helvetica 36 bold} -fill "#1b1f27"
    pack .c
  `));
  await w.close();
  const port = freePort();
  const vnc = new Deno.Command("x11vnc", {
    args: [
      "-display",
      display,
      "-rfbport",
      String(port),
      "-localhost",
      "-nopw",
      "-forever",
      "-shared",
      "-quiet",
      "-noxdamage",
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await until(
    "x11vnc to start",
    () => Deno.connect({ hostname: "127.0.0.1", port }).then((c) => (c.close(), true), () => false),
    { intervalMs: 50 },
  );
  return {
    display,
    port,
    async [Symbol.asyncDispose]() {
      for (const p of [vnc, painter, xvfb]) {
        try {
          p.kill("SIGTERM");
        } catch { /* gone */ }
        await p.status;
      }
    },
  };
}

/** Where a mapped window is on the screen, and which window it is. */
export interface WindowGeometry {
  id: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The absolute geometry of the window titled `title` on `display`, once it is mapped; else null. */
export async function windowGeometry(
  display: string,
  title: string,
): Promise<WindowGeometry | null> {
  const out = await new Deno.Command("xwininfo", {
    args: ["-display", display, "-name", title],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const value = (label: string) => Number(text.match(new RegExp(`${label}:\\s+(-?\\d+)`))?.[1]);
  if (!out.success || !/IsViewable/.test(text)) return null;
  return {
    id: text.match(/Window id: (0x[0-9a-f]+)/)?.[1] ?? "",
    x: value("Absolute upper-left X"),
    y: value("Absolute upper-left Y"),
    width: value("Width"),
    height: value("Height"),
  };
}
