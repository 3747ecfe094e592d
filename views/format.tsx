/** Small display helpers shared by pages. */

/** A timestamp shown in the viewer's local time (app.js localizes; UTC without scripts). */
export function Time(props: { at: number | null; empty?: string }) {
  if (props.at === null) return <span class="muted">{props.empty ?? "Never"}</span>;
  const iso = new Date(props.at).toISOString();
  return (
    <time datetime={iso} data-local>
      {iso.replace("T", " ").slice(0, 19)} UTC
    </time>
  );
}

/** The online/offline badge of a device. */
export function StatusBadge(props: { online: boolean; disabled?: boolean }) {
  if (props.disabled) return <span class="badge badge-bad">Disabled</span>;
  return props.online
    ? <span class="badge badge-ok status-online">Online</span>
    : <span class="badge status-offline">Offline</span>;
}
