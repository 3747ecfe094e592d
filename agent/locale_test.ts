import assert from "node:assert/strict";
import { deviceLocale } from "./locale.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("deviceLocale() follows the POSIX locale variables, LC_ALL first", () => {
  assert.equal(deviceLocale(env({ LANG: "de_DE.UTF-8" }), "linux"), "de");
  assert.equal(deviceLocale(env({ LANG: "de_DE.UTF-8", LC_ALL: "es_ES.UTF-8" }), "linux"), "es");
  assert.equal(deviceLocale(env({ LANG: "fr_CA" }), "darwin"), "fr");
});

Deno.test("deviceLocale() is English for C, POSIX and languages Assent does not speak", () => {
  assert.equal(deviceLocale(env({ LANG: "C.UTF-8" }), "linux"), "en");
  assert.equal(deviceLocale(env({ LANG: "POSIX" }), "linux"), "en");
  assert.equal(deviceLocale(env({ LANG: "ja_JP.UTF-8" }), "linux"), "en");
  assert.equal(deviceLocale(env({}), "linux"), "en");
});
