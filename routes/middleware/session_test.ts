import assert from "node:assert/strict";
import { Hono } from "hono";
import { setUp } from "../../tests/support/accounts.ts";
import { type TestApp, testApp } from "../../tests/support/app.ts";
import type { AppEnv } from "../env.ts";
import { engineOf, openDatabase } from "../../store/db.ts";
import { findUserByEmail, updateUser } from "../../store/users.ts";
import { deleteWebSession } from "../../store/web_sessions.ts";
import { hashToken } from "../../lib/tokens.ts";
import { statementsRun } from "../../tests/support/statements.ts";
import { loadUser, SESSION_COOKIE, setSessionCookie } from "./session.ts";

/** A bare app that says who `loadUser` found, with the real services behind it. */
function app(t: TestApp, hashed?: { cookie: string; hash: string }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    c.set("services", t.services);
    if (hashed) c.set("sessionCookieHash", hashed);
    await next();
  });
  app.use("*", loadUser());
  app.get(
    "/who",
    (c) => c.json({ email: c.get("user")?.email ?? null, token: c.get("sessionToken") }),
  );
  app.get("/user", (c) => c.json(c.get("user")));
  app.get("/cookie", (c) => {
    setSessionCookie(c, "tok");
    return c.body(null, 204);
  });
  return app;
}

async function who(t: TestApp, cookie?: string) {
  const headers: HeadersInit = cookie ? { Cookie: `${SESSION_COOKIE}=${cookie}` } : {};
  return await (await app(t).request("/who", { headers })).json();
}

Deno.test("the session cookie of a signed-in user makes them the request's user", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const token = owner.cookies.get(SESSION_COOKIE)!;
  assert.deepEqual(await who(t, token), { email: "owner@example.com", token });
});

Deno.test("no cookie, an unknown one or one signed out leaves the request anonymous", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const token = owner.cookies.get(SESSION_COOKIE)!;
  const anonymous = { email: null, token: null };
  assert.deepEqual(await who(t), anonymous);
  assert.deepEqual(await who(t, "x".repeat(43)), anonymous);
  assert.deepEqual(await who(t, token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")), anonymous);
  await t.services.accounts.logout(token);
  assert.deepEqual(await who(t, token), anonymous, "signing out ends the cookie's session");
});

Deno.test("a user disabled, renamed or demoted while signed in is seen so at their next request", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const token = owner.cookies.get(SESSION_COOKIE)!;
  const id = (await findUserByEmail(t.services.db, "owner@example.com"))!.id;
  const user = async () =>
    await (await app(t).request("/user", { headers: { Cookie: `${SESSION_COOKIE}=${token}` } }))
      .json();
  assert.deepEqual(await user(), {
    id,
    email: "owner@example.com",
    name: "Olive Owner",
    role: "super_admin",
    mfaEnabled: false,
  });
  await updateUser(t.services.db, id, { name: "Olive O.", role: "technician" }, t.clock.now());
  assert.deepEqual(await user(), {
    id,
    email: "owner@example.com",
    name: "Olive O.",
    role: "technician",
    mfaEnabled: false,
  });
  await updateUser(t.services.db, id, { disabled_at: t.clock.now() }, t.clock.now());
  assert.equal(await user(), null, "a disabled user's session signs nobody in");
  assert.deepEqual(await who(t, token), { email: null, token: null });
});

Deno.test("the session cookie is HttpOnly, SameSite=Lax, site-wide, and Secure when configured", async () => {
  await using t = await testApp();
  const plain = (await app(t).request("/cookie")).headers.get("Set-Cookie") ?? "";
  assert.match(plain, new RegExp(`^${SESSION_COOKIE}=tok;`));
  assert.match(plain, /; HttpOnly/);
  assert.match(plain, /; SameSite=Lax/);
  assert.match(plain, /; Path=\//);
  assert.doesNotMatch(plain, /; Secure/);
  t.services.config.secureCookies = true;
  const secure = (await app(t).request("/cookie")).headers.get("Set-Cookie") ?? "";
  assert.match(secure, /; Secure/);
});

async function readsOf(table: string, fn: () => Promise<void>): Promise<number> {
  return (await statementsRun(fn)).filter((sql) => sql.includes(`from "${table}"`)).length;
}

Deno.test("the session is read again only once the database changed, the console's writes included", async () => {
  await using t = await testApp();
  if (engineOf(t.services.db) !== "sqlite") return; // PostgreSQL reads it on every request.
  const owner = await setUp(t);
  const token = owner.cookies.get(SESSION_COOKIE)!;
  const signedIn = { email: "owner@example.com", token };
  assert.deepEqual(await who(t, token), signedIn);
  assert.equal(
    await readsOf("web_sessions", async () => {
      for (let i = 0; i < 3; i++) assert.deepEqual(await who(t, token), signedIn);
    }),
    0,
    "kept while nothing changed",
  );
  // Any write moves the change mark: the session is read again.
  await updateUser(t.services.db, (await findUserByEmail(t.services.db, "owner@example.com"))!.id, {
    name: "Olive O.",
  }, t.clock.now());
  assert.equal(await readsOf("web_sessions", async () => void await who(t, token)), 1);
  // The console, another connection, disables the user: refused on the very next request.
  const console = openDatabase(`${t.dir}/assent.db`);
  try {
    const id = (await findUserByEmail(console.db, "owner@example.com"))!.id;
    await updateUser(console.db, id, { disabled_at: t.clock.now() }, t.clock.now());
  } finally {
    await console.close();
  }
  assert.deepEqual(await who(t, token), { email: null, token: null });
  await updateUser(t.services.db, (await findUserByEmail(t.services.db, "owner@example.com"))!.id, {
    disabled_at: null,
  }, t.clock.now());
  assert.deepEqual(await who(t, token), signedIn);
  // The session revoked from another connection ends at once too.
  const other = openDatabase(`${t.dir}/assent.db`);
  try {
    await deleteWebSession(other.db, hashToken(token));
  } finally {
    await other.close();
  }
  assert.deepEqual(await who(t, token), { email: null, token: null });
});

Deno.test("the session cookie's hash from the CSRF check is used for that cookie only", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const token = owner.cookies.get(SESSION_COOKIE)!;
  const ask = async (hashed: { cookie: string; hash: string }) =>
    await (await app(t, hashed).request("/who", {
      headers: { Cookie: `${SESSION_COOKIE}=${token}` },
    })).json();
  const signedIn = { email: "owner@example.com", token };
  assert.deepEqual(await ask({ cookie: token, hash: hashToken(token) }), signedIn);
  // Hashed once: the hash given for this cookie is the one looked up.
  assert.deepEqual(await ask({ cookie: token, hash: hashToken("another") }), {
    email: null,
    token: null,
  });
  // A hash of some other cookie is never used for this one.
  assert.deepEqual(await ask({ cookie: "another", hash: hashToken("another") }), signedIn);
});
