/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: it throws on
 * anything a Prometheus server would reject, and checks what the format promises about
 * counters and histograms.
 */

/** One parsed sample. */
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One metric family: its type, help and samples. */
export interface ParsedFamily {
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: ParsedSample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad value "${text}" in: ${line}`);
  }
  return Number(text);
}

function parseSample(line: string): ParsedSample {
  const name = line.match(METRIC)?.[0];
  if (!name) throw new Error(`bad metric name in: ${line}`);
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith("{")) {
    rest = rest.slice(1);
    while (!rest.startsWith("}")) {
      const label = rest.match(LABEL)?.[0];
      if (!label || rest[label.length] !== "=" || rest[label.length + 1] !== '"') {
        throw new Error(`bad label in: ${line}`);
      }
      rest = rest.slice(label.length + 2);
      let value = "";
      for (;;) {
        const c = rest[0];
        if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
        rest = rest.slice(1);
        if (c === '"') break;
        if (c === "\\") {
          const e = rest[0];
          rest = rest.slice(1);
          if (e === "n") value += "\n";
          else if (e === "\\" || e === '"') value += e;
          else throw new Error(`bad escape in: ${line}`);
        } else if (c === "\n") throw new Error(`newline in label value: ${line}`);
        else value += c;
      }
      if (label in labels) throw new Error(`label ${label} twice in: ${line}`);
      labels[label] = value;
      if (rest.startsWith(",")) rest = rest.slice(1);
      else if (!rest.startsWith("}")) throw new Error(`expected , or } in: ${line}`);
    }
    rest = rest.slice(1);
  }
  const parts = rest.trim().split(/\s+/);
  if (!rest.startsWith(" ") || parts.length < 1 || parts.length > 2) {
    throw new Error(`bad sample: ${line}`);
  }
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) {
    throw new Error(`bad timestamp: ${line}`);
  }
  return { name, labels, value: parseValue(parts[0]!, line) };
}

function familyOf(sample: string, families: Map<string, ParsedFamily>): string | undefined {
  if (families.has(sample)) return sample;
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    const base = sample.endsWith(suffix) ? sample.slice(0, -suffix.length) : "";
    if (base && families.get(base)?.type === "histogram") return base;
  }
  return undefined;
}

/** Parses `text`; throws with the offending line on any violation of the format. */
export function parsePrometheus(text: string): Map<string, ParsedFamily> {
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/);
      if (!m) continue; // a plain comment
      const [, what, name, rest] = m;
      const family = families.get(name!) ?? { type: "untyped", help: "", samples: [] };
      if (family.samples.length > 0) throw new Error(`${what} after samples of ${name}`);
      if (what === "TYPE") {
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest!)) {
          throw new Error(`bad type in: ${line}`);
        }
        family.type = rest as ParsedFamily["type"];
      } else {
        family.help = rest!.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      }
      families.set(name!, family);
      continue;
    }
    const sample = parseSample(line);
    const name = familyOf(sample.name, families);
    if (!name) throw new Error(`sample without a TYPE line: ${line}`);
    const id = sample.name + JSON.stringify(Object.entries(sample.labels).sort());
    if (seen.has(id)) throw new Error(`duplicate series: ${line}`);
    seen.add(id);
    const family = families.get(name)!;
    if (family.type === "counter" && !(sample.value >= 0)) throw new Error(`negative: ${line}`);
    family.samples.push(sample);
  }
  for (const [name, family] of families) {
    if (family.type !== "histogram") continue;
    const groups = new Map<string, ParsedSample[]>();
    for (const s of family.samples) {
      const { le: _, ...rest } = s.labels;
      const k = JSON.stringify(Object.entries(rest).sort());
      groups.set(k, [...groups.get(k) ?? [], s]);
    }
    for (const samples of groups.values()) {
      const buckets = samples.filter((s) => s.name === `${name}_bucket`);
      const count = samples.find((s) => s.name === `${name}_count`);
      if (!count || !samples.some((s) => s.name === `${name}_sum`)) {
        throw new Error(`${name} lacks _sum or _count`);
      }
      const bounds = buckets.map((b) => parseValue(b.labels.le ?? "", name));
      if (bounds.at(-1) !== Infinity) throw new Error(`${name} lacks the +Inf bucket`);
      buckets.forEach((b, i) => {
        if (i > 0 && (bounds[i]! <= bounds[i - 1]! || b.value < buckets[i - 1]!.value)) {
          throw new Error(`${name} buckets are not cumulative and ordered`);
        }
      });
      if (buckets.at(-1)!.value !== count.value) throw new Error(`${name} +Inf != _count`);
    }
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const s of family.samples) {
      if (s.name !== name) continue;
      if (Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
