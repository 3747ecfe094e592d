/**
 * A small writer of the Prometheus text exposition format (version 0.0.4): counters, gauges and
 * histograms with labels. Values are either kept here (counters and histograms the code
 * updates) or read when scraped (gauges and counters whose truth lives elsewhere, such as the
 * database).
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** One sample of a collected metric. */
export interface Sample {
  labels?: Labels;
  value: number;
}

type Kind = "counter" | "gauge" | "histogram";

interface Family {
  name: string;
  help: string;
  kind: Kind;
  render(): Promise<string[]>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function escapeValue(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A number as the format writes it: `+Inf`, `-Inf`, `NaN` or a plain decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(labels: Labels | undefined, extra?: [string, string]): string {
  const pairs = Object.entries(labels ?? {});
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return "";
  for (const [k] of pairs) {
    if (!LABEL.test(k) || k.startsWith("__")) throw new Error(`Bad label name "${k}"`);
  }
  return `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(",")}}`;
}

function key(labels: Labels | undefined): string {
  return JSON.stringify(Object.entries(labels ?? {}).sort(([a], [b]) => a.localeCompare(b)));
}

/** A counter kept in memory: only goes up. */
export class Counter {
  #values = new Map<string, { labels: Labels | undefined; value: number }>();

  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new Error("A counter only goes up");
    const k = key(labels);
    const entry = this.#values.get(k) ?? { labels, value: 0 };
    entry.value += by;
    this.#values.set(k, entry);
  }

  /** The current value of the series of `labels`. */
  get(labels?: Labels): number {
    return this.#values.get(key(labels))?.value ?? 0;
  }

  samples(): Sample[] {
    return [...this.#values.values()].map((e) => ({ labels: e.labels, value: e.value }));
  }
}

/** A histogram kept in memory with fixed upper bounds. */
export class Histogram {
  #series = new Map<string, { labels: Labels | undefined; counts: number[]; sum: number }>();

  constructor(readonly buckets: number[]) {
    if (buckets.some((b, i) => i > 0 && b <= buckets[i - 1]!)) {
      throw new Error("Histogram buckets must increase");
    }
  }

  /** Records one observation. */
  observe(value: number, labels?: Labels): void {
    const k = key(labels);
    const s = this.#series.get(k) ??
      { labels, counts: new Array(this.buckets.length + 1).fill(0), sum: 0 };
    const i = this.buckets.findIndex((b) => value <= b);
    s.counts[i === -1 ? this.buckets.length : i]!++;
    s.sum += value;
    this.#series.set(k, s);
  }

  lines(name: string): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        out.push(`${name}_bucket${labelText(s.labels, ["le", formatValue(b)])} ${cumulative}`);
      });
      cumulative += s.counts[this.buckets.length]!;
      out.push(`${name}_bucket${labelText(s.labels, ["le", "+Inf"])} ${cumulative}`);
      out.push(`${name}_sum${labelText(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${name}_count${labelText(s.labels)} ${cumulative}`);
    }
    return out;
  }
}

/** The metrics of one process, rendered together on a scrape. */
export class Registry {
  #families: Family[] = [];

  #add(family: Family) {
    if (!NAME.test(family.name)) throw new Error(`Bad metric name "${family.name}"`);
    if (this.#families.some((f) => f.name === family.name)) {
      throw new Error(`Metric "${family.name}" is registered twice`);
    }
    this.#families.push(family);
  }

  /** A counter this registry keeps. */
  counter(name: string, help: string): Counter {
    const counter = new Counter();
    this.collect(name, help, "counter", () => counter.samples());
    return counter;
  }

  /** A histogram this registry keeps. */
  histogram(name: string, help: string, buckets: number[]): Histogram {
    const histogram = new Histogram(buckets);
    this.#add({
      name,
      help,
      kind: "histogram",
      render: () => Promise.resolve(histogram.lines(name)),
    });
    return histogram;
  }

  /** A counter or gauge whose samples are read at each scrape. */
  collect(
    name: string,
    help: string,
    kind: "counter" | "gauge",
    read: () => Sample[] | Promise<Sample[]>,
  ): void {
    if (kind === "counter" && !name.endsWith("_total")) {
      throw new Error(`Counter "${name}" must end in _total`);
    }
    this.#add({
      name,
      help,
      kind,
      render: async () =>
        (await read()).map((s) => `${name}${labelText(s.labels)} ${formatValue(s.value)}`),
    });
  }

  /** Every metric in the text format, each with its HELP and TYPE lines. */
  async render(): Promise<string> {
    const out: string[] = [];
    for (const f of this.#families) {
      const lines = await f.render();
      out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`, ...lines);
    }
    return out.join("\n") + "\n";
  }
}

/** The content type of the text format. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
