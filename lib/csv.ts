/** RFC 4180 CSV, written as a pull stream so a long export costs little memory. */

/**
 * One field. A leading =, +, -, @, tab or CR makes spreadsheets run the cell as a formula, and
 * what is exported may hold text strangers typed, so such cells get a quote prefix.
 */
export function csvField(value: string | null): string {
  if (value === null) return "";
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One line, CRLF-terminated. */
export function csvLine(fields: (string | null)[]): string {
  return fields.map(csvField).join(",") + "\r\n";
}

/** Bytes per chunk handed to the consumer: few enough writes, little memory. */
const CSV_CHUNK = 64 * 1024;

/**
 * A CSV document as a pull stream: `header`, then one line per row, read from `rows` only as
 * fast as the consumer takes the bytes. A failure while reading rows errors the stream (after
 * `onError` hears of it); cancelling the stream closes `rows`.
 */
export function csvStream<T>(
  header: string[],
  rows: AsyncGenerator<T>,
  fields: (row: T) => (string | null)[],
  onError: (err: unknown) => void = () => {},
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let first = true;
  return new ReadableStream({
    async pull(controller) {
      let chunk = first ? csvLine(header) : "";
      first = false;
      try {
        while (chunk.length < CSV_CHUNK) {
          const next = await rows.next();
          if (next.done) {
            if (chunk) controller.enqueue(encoder.encode(chunk));
            controller.close();
            return;
          }
          chunk += csvLine(fields(next.value));
        }
      } catch (err) {
        onError(err);
        controller.error(err);
        return;
      }
      controller.enqueue(encoder.encode(chunk));
    },
    async cancel() {
      await rows.return(undefined);
    },
  });
}
