/**
 * Every POST route of the route table, fed random bodies and headers: malformed forms and
 * multipart, JSON where forms are expected, bytes, made-up tokens and origins, real and
 * unknown ids. Whatever arrives, the answer is a 4xx (or a success), never a 5xx.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { hashToken } from "../lib/tokens.ts";
import { toCurrentUser } from "../services/accounts.ts";
import { findDevice, insertDevice } from "../store/devices.ts";
import { findUserByEmail } from "../store/users.ts";
import { setUp } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { Client } from "../tests/support/client.ts";
import { department } from "../tests/support/devices.ts";

/** Random requests per route, body shape and way of sending the token (form or header). */
const RUNS_PER_SHAPE = 1;
/** Fully random requests per route on top (any token, any origin). */
const RUNS_RANDOM = 4;

const SHAPES = [
  "urlencoded",
  "multipart",
  "multipart-no-boundary",
  "multipart-garbage",
  "json",
  "bytes",
  "empty",
  "text",
] as const;

function postRoutes(t: TestApp): string[] {
  const paths = [...new Set(t.app.routes.filter((r) => r.method === "POST").map((r) => r.path))];
  // Signing out ends the fuzzing client's session: it goes last.
  return [...paths.filter((p) => p !== "/logout"), "/logout"];
}

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom("", "0", "-1", "1e309", "on", "true", "[]", "{}", "%00", "\u0000", "../.."),
  fc.string({ minLength: 1000, maxLength: 5000 }),
);

const field = fc.tuple(
  fc.oneof(
    fc.constantFrom(
      "name",
      "email",
      "password",
      "passwordRepeat",
      "code",
      "role",
      "departmentIds",
      "enabled",
      "timeoutSeconds",
      "decision",
      "expiryMinutes",
      "recipients",
      "mode",
      "asUser",
      "attemptId",
      "message",
      "uses",
      "organizationName",
    ),
    fc.string({ maxLength: 12 }),
  ),
  text,
);

/** A body, its content type, and whether to send the real CSRF token. */
const request = fc.record({
  shape: fc.constantFrom(...SHAPES),
  fields: fc.array(field, { maxLength: 8 }),
  bytes: fc.uint8Array({ maxLength: 2000 }),
  // Mostly past the CSRF check, so the handlers behind it see the bodies too.
  csrf: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom("form", "header") },
    { weight: 1, arbitrary: fc.constantFrom("wrong", "none") },
  ),
  origin: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(undefined, "http://localhost") },
    { weight: 1, arbitrary: fc.constantFrom("null", "https://evil.example", "") },
  ),
  id: fc.oneof(fc.constantFrom("real"), fc.string({ minLength: 1, maxLength: 30 })),
  bearer: fc.boolean(),
  query: fc.string({ maxLength: 40 }),
});

type Fuzz = typeof request extends fc.Arbitrary<infer T> ? T : never;

function build(input: Fuzz, csrf: string): { headers: Headers; body: BodyInit | null } {
  const headers = new Headers();
  const token = input.csrf === "wrong" ? "x".repeat(43) : csrf;
  if (input.csrf === "header" || input.csrf === "wrong") headers.set("X-CSRF-Token", token);
  if (input.origin !== undefined) headers.set("Origin", input.origin);
  const fields = input.csrf === "form" ? [["_csrf", csrf], ...input.fields] : input.fields;
  switch (input.shape) {
    case "urlencoded":
      headers.set("Content-Type", "application/x-www-form-urlencoded");
      return { headers, body: new URLSearchParams(fields as [string, string][]) };
    case "multipart": {
      const form = new FormData();
      for (const [k, v] of fields) form.append(k!, v!);
      return { headers, body: form };
    }
    case "multipart-no-boundary":
      headers.set("Content-Type", "multipart/form-data");
      return { headers, body: new URLSearchParams(fields as [string, string][]).toString() };
    case "multipart-garbage":
      headers.set("Content-Type", "multipart/form-data; boundary=zz");
      return { headers, body: input.bytes };
    case "json":
      headers.set("Content-Type", "application/json");
      return { headers, body: JSON.stringify(Object.fromEntries(fields)) };
    case "bytes":
      headers.set("Content-Type", "application/octet-stream");
      return { headers, body: input.bytes };
    case "text":
      headers.set("Content-Type", "text/plain");
      return { headers, body: new TextDecoder().decode(input.bytes) };
    default:
      return { headers, body: null };
  }
}

async function fuzz(
  t: TestApp,
  client: Client,
  ids: (route: string, param: string) => string | undefined,
  bearer: string | null,
): Promise<number> {
  const failures: string[] = [];
  let sent = 0;
  const send = async (route: string, input: Fuzz) => {
    const path = route.replace(
      /:(\w+)/g,
      (_, name: string) =>
        encodeURIComponent(input.id === "real" ? ids(route, name) ?? "x" : input.id),
    );
    const { headers, body } = build(input, client.csrf);
    if (bearer && input.bearer) headers.set("Authorization", `Bearer ${bearer}`);
    const query = input.query ? `?${new URLSearchParams({ q: input.query, size: "3" })}` : "";
    const res = await client.request(path + query, { method: "POST", headers, body });
    await res.body?.cancel();
    sent++;
    if (res.status >= 500) failures.push(`${res.status} POST ${path} ${JSON.stringify(input)}`);
  };
  for (const route of postRoutes(t)) {
    // Every body shape reaches every route with a token that passes, in the form and in the
    // header, so the handlers behind CSRF see each of them; then anything goes.
    for (const shape of SHAPES) {
      for (const csrf of ["form", "header"] as const) {
        const shaped = request.map((r) => ({ ...r, shape, csrf, origin: undefined }));
        await fc.assert(fc.asyncProperty(shaped, (input) => send(route, input)), {
          numRuns: RUNS_PER_SHAPE,
          seed: 20261201,
        });
      }
    }
    await fc.assert(fc.asyncProperty(request, (input) => send(route, input)), {
      numRuns: RUNS_RANDOM,
      seed: 20261201,
    });
  }
  assert.deepEqual(failures, []);
  return sent;
}

Deno.test("random bodies and headers on every POST route are answered without a 5xx", async () => {
  await using before = await testApp();
  const visitor = new Client(before);
  await visitor.get("/setup");
  const beforeSetup = await fuzz(before, visitor, () => undefined, null);

  await using t = await testApp();
  const owner = await setUp(t);
  const dept = await department(t.services);
  await insertDevice(t.services.db, {
    id: "pc-1",
    secretHash: hashToken("s"),
    departmentId: dept,
    groupId: null,
    name: "PC-1",
    tokenId: "t",
    now: t.clock.now(),
  });
  const row = (await findUserByEmail(t.services.db, "owner@example.com"))!;
  const session = await t.services.sessions.open(
    toCurrentUser(row),
    (await findDevice(t.services.db, "pc-1"))!,
    null,
  );
  const { token } = await t.services.apiTokens.create({
    userId: row.id,
    name: "fuzz",
    expiresAt: null,
  }, { kind: "system" });
  await owner.get("/");
  const ids = (route: string, param: string) => {
    if (param === "departmentId") return dept;
    if (param !== "id") return "1";
    if (/^(\/api\/v1)?\/devices\//.test(route)) return "pc-1";
    if (route.startsWith("/admin/users/")) return row.id;
    if (route.startsWith("/admin/departments/")) return dept;
    return session.id;
  };
  const afterSetup = await fuzz(t, owner, ids, token);
  assert.ok(beforeSetup + afterSetup > 1000, `${beforeSetup + afterSetup} requests`);
});
