/** Small display helpers shared by pages. */
import { type Markup, markup } from "./html.ts";

/**
 * A timestamp shown in the viewer's local time: app.js localizes it (the stylesheet keeps it
 * hidden until then, so UTC never flashes first); without scripts it reads in UTC. Hovering
 * shows UTC either way. `clock` shows the hour and minute (and the day, unless it is today).
 */
export function Time(props: { at: number | null; empty?: string; clock?: boolean }) {
  if (props.at === null) return <span class="muted">{props.empty ?? "Never"}</span>;
  const iso = new Date(props.at).toISOString();
  const utc = `${iso.replace("T", " ").slice(0, 19)} UTC`;
  return (
    <time datetime={iso} data-local={props.clock ? "clock" : ""} title={utc}>
      {props.clock ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : utc}
    </time>
  );
}

/** {@link Time} without a clock, as markup text (for rows of a long list). */
export function timeMarkup(at: number | null): Markup {
  if (at === null) return markup`<span class="muted">Never</span>`;
  const iso = new Date(at).toISOString();
  const utc = `${iso.replace("T", " ").slice(0, 19)} UTC`;
  return markup`<time datetime="${iso}" data-local title="${utc}">${utc}</time>`;
}

/** The online/offline badge of a device. */
export function StatusBadge(props: { online: boolean; disabled?: boolean }) {
  if (props.disabled) return <span class="badge badge-bad">Disabled</span>;
  return props.online
    ? <span class="badge badge-ok status-online">Online</span>
    : <span class="badge status-offline">Offline</span>;
}

const BADGES = {
  disabled: markup`<span class="badge badge-bad">Disabled</span>`,
  online: markup`<span class="badge badge-ok status-online">Online</span>`,
  offline: markup`<span class="badge status-offline">Offline</span>`,
};

/** {@link StatusBadge} as markup text (for rows of a long list). */
export function statusBadgeMarkup(online: boolean, disabled: boolean): Markup {
  return disabled ? BADGES.disabled : online ? BADGES.online : BADGES.offline;
}
