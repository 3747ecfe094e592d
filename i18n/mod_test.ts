import assert from "node:assert/strict";
import {
  CATALOGUES,
  localeFromEnvironment,
  LOCALES,
  negotiateLocale,
  parts,
  placeholders,
  t,
} from "./mod.ts";
import { EN } from "./en.ts";

for (const locale of LOCALES) {
  Deno.test(`the ${locale} catalogue has every English key with the same placeholders`, () => {
    const catalogue = CATALOGUES[locale] as Record<string, unknown>;
    for (const [key, english] of Object.entries(EN)) {
      const message = catalogue[key];
      assert.ok(message !== undefined, `${locale} misses "${key}"`);
      assert.equal(typeof message, typeof english, `${locale} "${key}" has another shape`);
      assert.deepEqual(
        placeholders(message as string),
        placeholders(english),
        `${locale} "${key}" has other placeholders`,
      );
    }
    const extra = Object.keys(catalogue).filter((key) => !(key in EN));
    assert.deepEqual(extra, [], `${locale} has keys English does not`);
  });
}

Deno.test("placeholders() finds the names in every plural form", () => {
  assert.deepEqual(placeholders({ one: "{count} for {who}", other: "{count}" }), ["count", "who"]);
});

Deno.test("t() fills placeholders and picks the plural form by count", () => {
  assert.equal(t("en", "prompt.seconds_left", { count: 1 }), "1 second left");
  assert.equal(t("en", "prompt.seconds_left", { count: 2 }), "2 seconds left");
  assert.equal(t("de", "prompt.seconds_left", { count: 1 }), "noch 1 Sekunde");
  assert.equal(t("fr", "prompt.seconds_left", { count: 0 }), "0 seconde restante");
  assert.equal(
    t("de", "approval.you_allowed", { at: "10:00" }),
    "Sie haben diese Anfrage um 10:00 erlaubt.",
  );
});

Deno.test("parts() splits a message around its placeholders for markup", () => {
  assert.deepEqual(parts("en", "approval.asks"), [
    { name: "technician" },
    " asks to connect to ",
    { name: "device" },
    ".",
  ]);
});

Deno.test("negotiateLocale() takes the best supported language of Accept-Language", () => {
  assert.equal(negotiateLocale("de-DE,de;q=0.9,en;q=0.8"), "de");
  assert.equal(negotiateLocale("it-IT, fr;q=0.5, de;q=0.7"), "de");
  assert.equal(negotiateLocale("it, ja"), "en");
  assert.equal(negotiateLocale("it", "es"), "es");
  assert.equal(negotiateLocale("de;q=0, fr"), "fr");
  assert.equal(negotiateLocale(undefined, "fr"), "fr");
  assert.equal(negotiateLocale("*;q=1, de;q=0.5", "fr"), "fr");
  assert.equal(negotiateLocale("garbage;;;q=x,,"), "en");
});

Deno.test("localeFromEnvironment() reads LC_ALL, then LC_MESSAGES, then LANG, or a culture", () => {
  assert.equal(localeFromEnvironment({ LANG: "de_DE.UTF-8" }), "de");
  assert.equal(localeFromEnvironment({ LC_ALL: "fr_FR.UTF-8", LANG: "de_DE.UTF-8" }), "fr");
  assert.equal(localeFromEnvironment({ LC_MESSAGES: "es_ES", LANG: "de_DE" }), "es");
  assert.equal(localeFromEnvironment({ culture: "de-AT" }), "de");
  assert.equal(localeFromEnvironment({ LANG: "C.UTF-8" }), null);
  assert.equal(localeFromEnvironment({ LANG: "it_IT.UTF-8" }), null);
  assert.equal(localeFromEnvironment({}), null);
});
