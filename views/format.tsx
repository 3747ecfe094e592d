/** Small display helpers shared by pages. */
import { Markup, markup } from "./html.ts";

/**
 * A timestamp shown in the viewer's local time: app.js localizes it (the stylesheet keeps it
 * hidden until then, so UTC never flashes first); without scripts it reads in UTC. Hovering
 * shows UTC either way. `clock` shows the hour and minute (and the day, unless it is today).
 */
export function Time(props: { at: number | null; empty?: string; clock?: boolean }) {
  if (props.at === null) return <span class="muted">{props.empty ?? "Never"}</span>;
  const iso = isoTime(props.at);
  const utc = utcText(iso);
  return (
    <time datetime={iso} data-local={props.clock ? "clock" : ""} title={utc}>
      {props.clock ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : utc}
    </time>
  );
}

/** {@link Time} without a clock, as markup text (for rows of a long list). */
export function timeMarkup(at: number | null): Markup {
  if (at === null) return markup`<span class="muted">Never</span>`;
  const iso = isoTime(at);
  const utc = utcText(iso);
  // Digits, signs and separators only: nothing in it to escape.
  return new Markup(`<time datetime="${iso}" data-local title="${utc}">${utc}</time>`);
}

/** An ISO timestamp as the title and fallback text show it: `2026-12-01 10:30:53 UTC`. */
function utcText(iso: string): string {
  return `${iso.replace("T", " ").slice(0, 19)} UTC`;
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

/**
 * `new Date(at).toISOString()`, counted out in integers: the Date built for it costs several
 * times the arithmetic, and a list shows a timestamp on each of its rows. Moments before 1970,
 * after 9999 or between milliseconds go to Date, which writes them its own way.
 */
export function isoTime(at: number): string {
  if (!Number.isInteger(at) || at < 0 || at >= YEAR_10000) return new Date(at).toISOString();
  // Days since 1970 to a civil date: H. Hinnant's days_from_civil, inverted, for days ≥ 0.
  const days = Math.floor(at / DAY);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  let ms = at - days * DAY;
  const hour = Math.floor(ms / 3_600_000);
  ms -= hour * 3_600_000;
  const minute = Math.floor(ms / 60_000);
  ms -= minute * 60_000;
  const second = Math.floor(ms / 1000);
  ms -= second * 1000;
  return `${String(year).padStart(4, "0")}-${two(month)}-${two(day)}T${two(hour)}:${two(minute)}:${
    two(second)
  }.${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z`;
}

const DAY = 86_400_000;
const YEAR_10000 = 253_402_300_800_000;

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}
