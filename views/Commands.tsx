/** Commands to copy and checksums to compare, as the enrollment and join pages show them. */

/**
 * A command with a label and a Copy button above it, wrapping at spaces where it can, so a
 * long line stays readable at phone width and nothing hides behind a scroll bar.
 */
export function CopyCommand(
  props: {
    id: string;
    label?: preact.ComponentChildren;
    command: string;
    platform?: string;
    /** The button's word, in the reader's language. */
    copy?: string;
  },
) {
  return (
    <div class="one-liner" data-platform={props.platform}>
      <p>{props.label}</p>
      <button type="button" data-copy={`#${props.id}`}>{props.copy ?? "Copy"}</button>
      <pre class="command" id={props.id}>{words(props.command)}</pre>
    </div>
  );
}

/**
 * The command's words, short ones kept whole: browsers may break a line after any hyphen, and
 * `-- --platform` split as `-- --` / `platform` reads as another command. Long words (URLs,
 * hashes, tokens) may still break anywhere. The text, and so a copy of it, stays the same.
 */
function words(command: string) {
  return command.split(" ").flatMap((word, i) => {
    const piece = word.length <= 24 ? <span class="nobr" key={i}>{word}</span> : word;
    return i === 0 ? [piece] : [" ", piece];
  });
}

/**
 * A SHA-256 in groups of eight, so people can compare it by eye; the groups are boxes with no
 * spaces between them, so a selection still copies the plain 64 characters.
 */
export function Checksum(props: { sha256: string; id?: string }) {
  const groups = props.sha256.match(/.{1,8}/g) ?? [];
  return (
    <code class="mono checksum" id={props.id} title={props.sha256}>
      {groups.map((g, i) => <span key={i}>{g}</span>)}
    </code>
  );
}
