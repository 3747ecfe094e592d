/**
 * A region that re-fetches itself when the server says something changed (server-sent
 * events). The wrapper stays in the page and only its content is swapped, so an update that
 * arrives while another is loading is queued on the same element instead of being lost.
 */
import type { ComponentChildren } from "preact";

/** Wraps live content; `event` is the SSE event name, `url` returns the content alone. */
export function Live(
  props: { id: string; url: string; event: string; children: ComponentChildren; class?: string },
) {
  return (
    <div
      id={props.id}
      class={props.class}
      hx-get={props.url}
      hx-trigger={`sse:${props.event}, sse:ready`}
      hx-swap="innerHTML"
      hx-sync="this:queue last"
    >
      {props.children}
    </div>
  );
}
