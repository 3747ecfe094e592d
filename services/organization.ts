/** Organization-wide settings: the default language of what Assent writes to people without an account. */
import { isLocale, type Locale, LOCALE_NAMES } from "../i18n/mod.ts";
import type { Clock } from "../lib/clock.ts";
import { appendAudit } from "../store/audit.ts";
import type { Db } from "../store/db.ts";
import { setDefaultLocale } from "../store/instance.ts";
import type { CurrentUser } from "./accounts.ts";

/** Why a language change was refused. */
export class OrganizationError extends Error {
  constructor(readonly status: 400 | 403, message: string) {
    super(message);
    this.name = "OrganizationError";
  }
}

/** Changes the organization's default language (super admins only), audited from → to. */
export async function changeDefaultLocale(
  deps: { db: Db; clock: Clock; state: { locale: Locale } },
  locale: unknown,
  user: CurrentUser,
): Promise<Locale> {
  if (user.role !== "super_admin") {
    throw new OrganizationError(403, "Only super admins can change the organization's language");
  }
  if (!isLocale(locale)) {
    throw new OrganizationError(
      400,
      `Choose one of the offered languages: ${Object.values(LOCALE_NAMES).join(", ")}`,
    );
  }
  const before = deps.state.locale;
  if (before === locale) return locale;
  const now = deps.clock.now();
  await deps.db.transaction().execute(async (trx) => {
    await setDefaultLocale(trx, locale);
    await appendAudit(trx, {
      at: now,
      action: "setup.language_changed",
      actor: { kind: "user", id: user.id, label: user.email },
      detail: { language: `${LOCALE_NAMES[before]} → ${LOCALE_NAMES[locale]}` },
    });
  });
  deps.state.locale = locale;
  return locale;
}
