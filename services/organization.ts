/** Organization-wide settings: the default language of what Assent writes to people without an account. */
import { isLocale, type Locale, LOCALE_NAMES } from "../i18n/mod.ts";
import { setDefaultLocale } from "../store/instance.ts";
import type { CurrentUser } from "./accounts.ts";
import type { UnitOfWork } from "./unit_of_work.ts";

/** Why a language change was refused. */
export class OrganizationError extends Error {
  constructor(readonly status: 400 | 403, message: string) {
    super(message);
    this.name = "OrganizationError";
  }
}

/** The organization's settings that are not a department's. */
export class Organization {
  readonly #d: { work: UnitOfWork; state: { locale: Locale } };

  constructor(deps: { work: UnitOfWork; state: { locale: Locale } }) {
    this.#d = deps;
  }

  /** Changes the organization's default language (super admins only), audited from → to. */
  async changeDefaultLocale(user: CurrentUser, locale: unknown): Promise<Locale> {
    if (user.role !== "super_admin") {
      throw new OrganizationError(403, "Only super admins can change the organization's language");
    }
    if (!isLocale(locale)) {
      throw new OrganizationError(
        400,
        `Choose one of the offered languages: ${Object.values(LOCALE_NAMES).join(", ")}`,
      );
    }
    const { state } = this.#d;
    const before = state.locale;
    if (before === locale) return locale;
    await this.#d.work.run(async (tx) => {
      await setDefaultLocale(tx.db, locale);
      await tx.audit({
        action: "setup.language_changed",
        actor: { kind: "user", id: user.id, label: user.email },
        detail: { language: `${LOCALE_NAMES[before]} → ${LOCALE_NAMES[locale]}` },
      });
    });
    state.locale = locale;
    return locale;
  }
}
