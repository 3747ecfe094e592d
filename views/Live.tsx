/**
 * A region that re-fetches itself when the server says something changed (server-sent
 * events). The wrapper stays in the page and only its content is swapped, so an update that
 * arrives while another is loading is queued on the same element instead of being lost.
 */
import type { ComponentChildren } from "preact";

/**
 * Wraps live content; `event` is the SSE event name, `url` returns the content alone. `also`
 * names a DOM event that refreshes it too (a page script that learnt of a change first), and
 * `announce` makes screen readers read the new content.
 */
export function Live(
  props: {
    id: string;
    url: string;
    event: string;
    children: ComponentChildren;
    class?: string;
    also?: string;
    announce?: boolean;
  },
) {
  return (
    <div
      id={props.id}
      class={props.class}
      hx-get={props.url}
      hx-trigger={`sse:${props.event}, sse:ready${props.also ? `, ${props.also}` : ""}`}
      hx-swap="innerHTML"
      hx-sync="this:queue last"
      aria-live={props.announce ? "polite" : undefined}
    >
      {props.children}
    </div>
  );
}
