/**
 * The agent endpoint's handshake limits and wording. Deno's WebSocket reads a whole frame (up
 * to 64 MiB) before the hub sees it, so a connection that has not authenticated yet can make
 * the server hold that much: only a few such connections are upgraded at once, in all and per
 * address (IPv6: per /64), and the rest are refused before the upgrade.
 */
import { addressKey } from "../lib/net.ts";
import { ThreadSlices } from "../lib/slices.ts";
import { PROTOCOL_VERSION } from "../protocol/messages.ts";

/** How many connections may be between upgrade and authentication at once. */
export interface HandshakeLimits {
  total: number;
  perAddress: number;
}

/** The default caps (operators raise them for many agents behind one address). */
export const HANDSHAKE_LIMITS: Readonly<HandshakeLimits> = Object.freeze({
  total: 16,
  perAddress: 2,
});

/**
 * A connection the hub cut during its handshake keeps its place until the socket is gone, or
 * this long: the runtime cannot force a socket shut, and a peer that vanished without a word
 * would otherwise hold the place for good.
 */
export const CUT_HANDSHAKE_GRACE_MS = 10_000;

/** The places of unfinished handshakes, in all and per address. */
export class HandshakePlaces {
  readonly #limits: HandshakeLimits;
  #total = 0;
  readonly #byAddress = new Map<string, number>();

  constructor(limits: HandshakeLimits = HANDSHAKE_LIMITS) {
    this.#limits = limits;
  }

  /** Takes a place for `ip`; false when there are too many already. */
  take(ip: string): boolean {
    const key = addressKey(ip);
    const fromAddress = this.#byAddress.get(key) ?? 0;
    if (this.#total >= this.#limits.total || fromAddress >= this.#limits.perAddress) return false;
    this.#total++;
    this.#byAddress.set(key, fromAddress + 1);
    return true;
  }

  /** Why {@link take} would refuse `ip` now: its address's places are full, or all are. */
  fullFor(ip: string): "address" | "total" | null {
    if ((this.#byAddress.get(addressKey(ip)) ?? 0) >= this.#limits.perAddress) return "address";
    return this.#total >= this.#limits.total ? "total" : null;
  }

  /** Gives back a place {@link take} gave for `ip`. */
  give(ip: string): void {
    const key = addressKey(ip);
    const fromAddress = this.#byAddress.get(key) ?? 0;
    if (fromAddress <= 1) this.#byAddress.delete(key);
    else this.#byAddress.set(key, fromAddress - 1);
    this.#total = Math.max(0, this.#total - 1);
  }

  /** Places taken now. */
  get taken(): number {
    return this.#total;
  }
}

/** What an agent whose hello lacks the device's key proof is told. */
export const BAD_KEY =
  "This hello was not signed with the device's own key; a copied credential alone cannot connect";

/** What an agent speaking another protocol version is told. */
export function unsupportedVersion(protocol: unknown): string {
  return `Protocol ${String(protocol).slice(0, 20)} is not supported; this server speaks ` +
    `${PROTOCOL_VERSION}: upgrade the agent`;
}

/** A hello of another protocol version, which does not fit this version's schema. */
export function isOtherVersionHello(json: unknown): json is { protocol: unknown } {
  if (typeof json !== "object" || json === null) return false;
  const { type, protocol } = json as Record<string, unknown>;
  return type === "hello" && typeof protocol === "number" && protocol !== PROTOCOL_VERSION;
}

/**
 * How many handshakes check their credential at once. The database takes one statement at a
 * time, in the order asked: with every returning agent of a storm asking at once, a page's
 * queries would queue behind all of them. Past this many, handshakes wait their turn here, where
 * they hold no database time, and the pages go first (turns begin in slices, see
 * {@link HANDSHAKE_SLICE_MS}). Not fewer: a handshake waits for the rate limit's group commit,
 * and the more of them wait together, the more each of those transactions carries.
 */
export const HANDSHAKES_AT_ONCE = 16;

/** The pace is measured over the handshakes finished in this long before the latest. */
const PACE_WINDOW_MS = 1_000;
/** At most this many of them: the memory held whatever the pace. */
const PACE_SAMPLES = 2_048;
/** The slowest pace counted: a server that finishes fewer than 20 handshakes a second is stuck. */
const MAX_INTERVAL_MS = 50;
/**
 * The longest stall counted: none finished for a second with places full adds a second to the
 * wait, and no more, so a stall that ends soon does not leave the server idle afterwards.
 */
const MAX_STALL_MS = 1_000;
/** The longest an agent is told to wait. */
const MAX_COME_BACK_MS = 60_000;
/**
 * The shortest cap on a moment told. A server restarted on purpose knows its fleet only as it
 * comes back (its window starts at a second), and a cap that short would turn the same agents
 * away again and again while the fleet returns.
 */
const MIN_COME_BACK_CAP_MS = 5_000;
/** The moments told are kept in slots this wide: an agent counts until its slot has begun. */
const SLOT_MS = 100;
/** Slots for a minute ahead and the one under way: the memory held whatever the storm. */
const SLOTS = Math.ceil(MAX_COME_BACK_MS / SLOT_MS) + 2;

/**
 * When a server whose handshake places are all taken has room for one more: behind the
 * handshakes under way and the agents told before it whose moment has not come yet, at the
 * pace handshakes have been finishing lately, so the agents it turns away come back one after
 * the other instead of all at once, or later than they could. An agent whose moment has come
 * no longer counts: it is back (under way, or told again), or gone. A stall (places full and
 * none finished) adds its own length once, as the time the server may still need to resume.
 * No moment lies further ahead than the fleet's window (the caller's `withinMs`; 5 s for a
 * smaller fleet): a pace measured while a restarted server was slowest (its start, the first
 * flood of arrivals) says little about the seconds after, and an agent told too early is only
 * told again, while one told too late leaves the server idle. An agent whose turn lies past the
 * window is told a random moment in the window's later half, not its end: told the end, every
 * such agent of a storm's first seconds (thousands) would come back in the same half second,
 * find the places full again and be told the end again, while the server sat idle in between.
 * The agents told are counted by the slot of their moment over the next minute, so the memory
 * stays flat. Times come from the caller (the injected clock).
 */
export class ComeBackTimes {
  /**
   * Lately, the milliseconds between two finished handshakes: their mean over the last
   * {@link PACE_WINDOW_MS} (kept in a ring of when each finished and its gap).
   */
  #intervalMs: number;
  readonly #paceAt = new Float64Array(PACE_SAMPLES);
  readonly #paceGap = new Float64Array(PACE_SAMPLES);
  #paceFirst = 0;
  #paceCount = 0;
  #paceSum = 0;
  #lastDone: number | null = null;
  /** When the handshake places last went from none taken to some. */
  #busySince: number | null = null;
  /** Agents told to come back, by the slot of their moment (a ring over the next minute). */
  readonly #told = new Uint32Array(SLOTS);
  /** Of them, those whose slot has not begun yet (the sum of {@link #told}). */
  #waiting = 0;
  /** The first slot (in absolute numbers) whose agents may still be waiting. */
  #fromSlot = 0;

  readonly #random: () => number;

  constructor(initialIntervalMs = 2, random: () => number = Math.random) {
    this.#intervalMs = initialIntervalMs;
    this.#random = random;
  }

  /**
   * A handshake finished at `now`. The gap since the one before says how fast the server gets
   * through them only when others were under way meanwhile (`busy`); otherwise it says how
   * seldom agents arrived, and is not counted. The pace is the mean gap over the last second
   * of such handshakes: hundreds of them in a storm, so one pause of a few tens of ms (a
   * collection, a checkpoint) moves it by a few per cent, not twice over.
   */
  finished(now: number, busy: boolean): void {
    // None finished for a second or more: a stall, or a server that was idle. That is no pace
    // (a stall is counted where it is seen, in `next`); the pace before it stands.
    if (this.#lastDone !== null && busy && now - this.#lastDone < PACE_WINDOW_MS) {
      const gap = Math.min(MAX_INTERVAL_MS, Math.max(0, now - this.#lastDone));
      while (
        this.#paceCount === PACE_SAMPLES ||
        (this.#paceCount > 0 && this.#paceAt[this.#paceFirst]! <= now - PACE_WINDOW_MS)
      ) {
        this.#paceSum -= this.#paceGap[this.#paceFirst]!;
        this.#paceFirst = (this.#paceFirst + 1) % PACE_SAMPLES;
        this.#paceCount--;
      }
      const at = (this.#paceFirst + this.#paceCount) % PACE_SAMPLES;
      this.#paceAt[at] = now;
      this.#paceGap[at] = gap;
      this.#paceSum += gap;
      this.#paceCount++;
      this.#intervalMs = this.#paceSum / this.#paceCount;
    }
    this.#lastDone = now;
  }

  /**
   * The handshake places went from none taken to one at `now`: a server idle until then was
   * not stalled, however long ago its last handshake finished.
   */
  busyFrom(now: number): void {
    this.#busySince = now;
  }

  /**
   * In how many ms from `now` the next agent turned away should come back (at least 100, at
   * most `withinMs` (never under 5 s) and a minute): after the `ahead` handshakes under way and
   * the agents told before it that are still to come, at the pace handshakes have been
   * finishing, plus a stall's length; a turn past that cap is a random moment in the cap's
   * later half. `withinMs` is the window the fleet was given to come back in.
   */
  next(now: number, ahead: number, withinMs = MAX_COME_BACK_MS): number {
    this.#pass(now);
    // None finished since the later of the last one and the start of this busy spell.
    const since = Math.max(this.#lastDone ?? -Infinity, this.#busySince ?? -Infinity);
    const stall = ahead > 0 && since > -Infinity ? Math.min(MAX_STALL_MS, now - since) : 0;
    const interval = Math.max(0.1, this.#intervalMs);
    const cap = Math.min(MAX_COME_BACK_MS, Math.max(MIN_COME_BACK_CAP_MS, withinMs));
    const turn = Math.ceil(100 + Math.max(0, stall) + (ahead + this.#waiting + 1) * interval);
    const wait = turn <= cap ? turn : Math.ceil(cap / 2 + this.#random() * (cap / 2));
    this.#told[Math.floor((now + wait) / SLOT_MS) % SLOTS]!++;
    this.#waiting++;
    return wait;
  }

  /** Agents told, whose moment has not come yet. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Forgets the agents whose moment's slot has begun by `now`. */
  #pass(now: number): void {
    const slot = Math.floor(now / SLOT_MS);
    if (slot - this.#fromSlot >= SLOTS) {
      this.#told.fill(0);
      this.#waiting = 0;
    } else {
      for (; this.#fromSlot <= slot; this.#fromSlot++) {
        const i = this.#fromSlot % SLOTS;
        this.#waiting -= this.#told[i]!;
        this.#told[i] = 0;
      }
    }
    this.#fromSlot = Math.max(this.#fromSlot, slot + 1);
  }
}

/**
 * How long turns begin one straight after another. A handshake's checks wait for nothing off this
 * thread (the key proof and the database are synchronous), so a queue of them handed on at once
 * would be one long task, and a technician's request, which waits for the thread, would wait for
 * the whole queue. Once this long has passed since the slice began, no further turn begins in the
 * same task: the turns pause for one, behind what arrived meanwhile, and go on in their order.
 */
export const HANDSHAKE_SLICE_MS = 5;

/**
 * Turns for the costly part of handshakes: at most `limit` at once, the others in the order they
 * came, begun in slices of {@link HANDSHAKE_SLICE_MS} of the thread's time.
 */
export class HandshakeTurns {
  readonly #limit: number;
  readonly #slices: ThreadSlices;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(
    limit = HANDSHAKES_AT_ONCE,
    options: { sliceMs?: number; now?: () => number } = {},
  ) {
    this.#limit = Math.max(1, limit);
    this.#slices = new ThreadSlices(options.sliceMs ?? HANDSHAKE_SLICE_MS, options.now);
  }

  /** Runs `work` once a turn is free, and frees the turn when it settles. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      const turn = this.#slices.pause();
      if (turn) await turn;
      return await work();
    } finally {
      // The turn passes straight to the next in line, so none can jump the queue.
      const next = this.#waiting.shift();
      if (next) {
        next();
      } else {
        this.#running--;
        // None under way: the next turn begins a slice of its own (a turn still under way may
        // ask again, and must not find a fresh slice in a task already used up).
        if (this.#running === 0) this.#slices.idle();
      }
    }
  }

  /**
   * For a turn that waited for something (the rate limit's batch) before its costly part: null
   * when it may go on now, else its place in line for the thread, to await directly, as when it
   * began. Without it the turns that waited together would go on together, in one task.
   */
  pause(): Promise<void> | null {
    return this.#slices.pause();
  }

  /** Handshakes holding a turn now (pausing or running), and waiting for one. */
  get load(): { running: number; waiting: number } {
    return { running: this.#running, waiting: this.#waiting.length };
  }
}
