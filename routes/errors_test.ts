import assert from "node:assert/strict";
import { setUp } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { textOf } from "../tests/support/client.ts";

async function ownerToken(t: TestApp): Promise<string> {
  const { id } = await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow();
  const made = await t.services.apiTokens.create({
    userId: id,
    name: "errors",
    expiresAt: null,
  }, { kind: "system" });
  return made.token;
}

function api(t: TestApp, token: string, path: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return t.app.request(path, { ...init, headers }, { remoteAddr: { hostname: "198.51.100.1" } });
}

async function assertJson(res: Response, status: number, code?: string) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("Content-Type"), "application/json");
  const body = await res.json();
  assert.equal(typeof body.error, "string");
  if (code) assert.equal(body.code, code);
  return body;
}

Deno.test("the API answers its 404s, 400s and 500s in JSON", async () => {
  await using t = await testApp();
  await setUp(t);
  const token = await ownerToken(t);
  await assertJson(await api(t, token, "/api/v1/no-such-thing"), 404, "not_found");
  await assertJson(await api(t, token, "/api/nothing/here"), 404, "not_found");
  const post = (body: string) =>
    api(t, token, "/api/v1/support-sessions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body,
    });
  await assertJson(await post("{not json"), 400, "invalid_json");
  // Thrown while the handler reads its body, so the error handler answers.
  await assertJson(await post(JSON.stringify({ note: "x".repeat(70_000) })), 413, "too_large");
  // A handler that fails unexpectedly: the client still gets JSON, without the error's details.
  t.services.deviceAdmin.search = () => Promise.reject(new Error("secret internals"));
  const broken = await assertJson(await api(t, token, "/api/v1/devices"), 500);
  assert.doesNotMatch(broken.error, /secret internals/);
  // Accept does not turn an API error into a page.
  const asked = await api(t, token, "/api/v1/devices", { headers: { Accept: "text/html" } });
  await assertJson(asked, 500);
});

Deno.test("a page answers its 404s and 500s with an HTML error page, whatever it accepts", async () => {
  await using t = await testApp();
  const owner = await setUp(t);
  const missing = await owner.get("/no/such/page");
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("Content-Type") ?? "", /^text\/html/);
  assert.match(await textOf(missing), /There is no page at this address/);
  t.services.deviceAdmin.searchList = () => Promise.reject(new Error("secret internals"));
  for (const accept of ["text/html", "application/json"]) {
    const res = await owner.request("/devices", { headers: { Accept: accept } });
    assert.equal(res.status, 500);
    assert.match(res.headers.get("Content-Type") ?? "", /^text\/html/);
    const text = await textOf(res);
    assert.match(text, /could not complete this request/);
    assert.doesNotMatch(text, /secret internals/);
  }
});
