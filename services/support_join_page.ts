/**
 * The customer's download page for a support code (R6): public, and counted per address with
 * the support app's limit of unknown codes, so the page cannot be used to guess codes either.
 */
import { type DownloadPageView, downloadPageView } from "../core/mod.ts";
import { addressKey } from "../lib/net.ts";
import { findSupportCodeByCode } from "../store/support_codes.ts";
import { findUser } from "../store/users.ts";
import type { AttemptLimiter, Clock } from "./ports.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** What the public download page shows. */
export type JoinPage =
  | {
    kind: "available";
    view: Extract<DownloadPageView, { kind: "available" }>;
    organization: string;
    technician: string;
    customer: string | null;
  }
  | { kind: "ended"; view: Exclude<DownloadPageView, { kind: "available" }> }
  | { kind: "rate_limited"; message: string };

/** What the download page needs. */
export interface JoinPagesDeps {
  work: UnitOfWork;
  clock: Clock;
  /** Unknown codes per address, shared with the support app's handshake. */
  guesses: AttemptLimiter;
  organization: () => string;
}

/** The download pages of support codes. */
export class JoinPages {
  readonly #d: JoinPagesDeps;

  constructor(deps: JoinPagesDeps) {
    this.#d = deps;
  }

  /** What the download page for `code` shows to this address. */
  async joinPage(code: string, address: string): Promise<JoinPage> {
    const slot = await this.#d.guesses.reserve(addressKey(address));
    if (!slot.ok) return { kind: "rate_limited", message: slot.message };
    const db = this.#d.work.db;
    const stored = await findSupportCodeByCode(db, code);
    if (stored) await slot.succeed();
    else slot.fail();
    const view = downloadPageView(stored?.state ?? null, this.#d.clock.now());
    if (view.kind !== "available" || !stored) {
      return { kind: "ended", view: view as Exclude<DownloadPageView, { kind: "available" }> };
    }
    const technician = await findUser(db, stored.row.technician_id);
    return {
      kind: "available",
      view,
      organization: this.#d.organization(),
      technician: technician?.name ?? "Your technician",
      customer: stored.row.customer_name,
    };
  }
}
