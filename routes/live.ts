/**
 * Server-sent events for live pages. Each stream forwards the bus events its viewer may
 * see (and every `missed`, after which everything is read again) as one named SSE event, at
 * most once per interval, and the page's htmx elements re-fetch their partial (so access
 * checks stay in the normal routes).
 */
import { streamSSE } from "hono/streaming";
import type { LiveEvent } from "../services/ports.ts";
import type { Ctx } from "./env.ts";

/** Opens an SSE stream that sends `event` whenever `accepts` matches a bus event. */
export function liveStream(
  c: Ctx,
  options: { event: string; accepts: (e: LiveEvent) => boolean; minIntervalMs?: number },
): Response {
  const { events, shutdown } = c.get("services");
  const minInterval = options.minIntervalMs ?? 1000;
  return streamSSE(c, async (stream) => {
    let last = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const fire = () => {
      timer = undefined;
      last = Date.now();
      stream.writeSSE({ event: options.event, data: "changed" }).catch(() => stream.abort());
    };
    const unsubscribe = events.subscribe((e) => {
      if (timer !== undefined || (e.kind !== "missed" && !options.accepts(e))) return;
      timer = setTimeout(fire, Math.max(0, last + minInterval - Date.now()));
    });
    // Comments keep proxies from closing an idle stream.
    const keepAlive = setInterval(
      () => void stream.write(": keep-alive\n\n").catch(() => stream.abort()),
      25_000,
    );
    await stream.writeSSE({ event: "ready", data: "ok", retry: 3000 });
    await new Promise<void>((resolve) => {
      stream.onAbort(resolve);
      if (shutdown.aborted) resolve();
      shutdown.addEventListener("abort", () => resolve(), { once: true });
    });
    unsubscribe();
    clearInterval(keepAlive);
    clearTimeout(timer);
  });
}
