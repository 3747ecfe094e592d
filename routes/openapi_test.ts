import assert from "node:assert/strict";
import { hashToken } from "../lib/tokens.ts";
import { insertDevice } from "../store/devices.ts";
import { setUp } from "../tests/support/accounts.ts";
import { type TestApp, testApp } from "../tests/support/app.ts";
import { department } from "../tests/support/devices.ts";
import { API_OPERATIONS } from "./openapi.ts";

// The document is JSON of a known shape; reading it field by field is what the test is for.
// deno-lint-ignore no-explicit-any
type Json = any;

async function openApi(t: TestApp): Promise<Json> {
  const res = await t.app.request("/api/v1/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("Content-Type") ?? "", /^application\/json/);
  return await res.json();
}

Deno.test("the OpenAPI document covers every registered API route and nothing else", async () => {
  await using t = await testApp();
  const doc = await openApi(t);
  const registered = new Set(
    t.app.routes.filter((r) =>
      r.path.startsWith("/api/v1/") && r.method !== "ALL" && r.path !== "/api/v1/openapi.json"
    ).map((r) =>
      `${r.method.toLowerCase()} ${r.path.replace("/api/v1", "").replace(/:(\w+)/g, "{$1}")}`
    ),
  );
  const documented = new Set(
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`)
    ),
  );
  assert.ok(registered.size >= 20, `only ${registered.size} API routes found`);
  assert.deepEqual([...registered].filter((r) => !documented.has(r)), [], "undocumented routes");
  assert.deepEqual([...documented].filter((d) => !registered.has(d)), [], "documented, not routed");
});

Deno.test("the OpenAPI document is well-formed 3.1: ids, parameters, responses, schemas", async () => {
  await using t = await testApp({ publicUrl: "https://assent.example.com" });
  const doc = await openApi(t);
  assert.equal(doc.openapi, "3.1.0");
  assert.equal(typeof doc.info.title, "string");
  assert.equal(typeof doc.info.version, "string");
  assert.deepEqual(doc.servers, [{ url: "https://assent.example.com/api/v1" }]);
  assert.equal(doc.components.securitySchemes.bearer.scheme, "bearer");
  const ids = new Set<string>();
  const isSchema = (s: unknown) =>
    typeof s === "object" && s !== null && !("$schema" in s) &&
    JSON.stringify(s).length > 2;
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    assert.match(path, /^\/[a-z0-9{}/-]*$/, path);
    const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [method, op] of Object.entries(ops)) {
      const where = `${method} ${path}`;
      assert.ok(["get", "post", "put", "delete"].includes(method), where);
      assert.ok(!ids.has(op.operationId), `${where}: duplicate operationId ${op.operationId}`);
      ids.add(op.operationId);
      assert.equal(typeof op.summary, "string", where);
      const params = (op.parameters ?? []) as { name: string; in: string; required: boolean }[];
      assert.deepEqual(
        params.filter((p) => p.in === "path").map((p) => p.name).sort(),
        pathParams,
        `${where}: path parameters`,
      );
      for (const p of params) {
        assert.ok(["path", "query"].includes(p.in), where);
        if (p.in === "path") assert.equal(p.required, true, where);
      }
      if (op.requestBody) {
        assert.ok(isSchema(op.requestBody.content["application/json"].schema), where);
      }
      assert.ok(Object.keys(op.responses).length > 0, where);
      for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
        assert.match(status, /^[1-5]\d\d$/, where);
        assert.equal(typeof response.description, "string", `${where} ${status}`);
        if (status !== "204") {
          assert.ok(isSchema(response.content?.["application/json"]?.schema), `${where} ${status}`);
        }
      }
    }
  }
  const devices = doc.paths["/devices"].get;
  assert.deepEqual(
    devices.parameters.map((p: { name: string }) => p.name),
    ["q", "status", "department", "page"],
    "query parameters come from the schema that validates them",
  );
  const support = doc.paths["/support-sessions"].post.requestBody;
  assert.equal(support.required, true);
  assert.deepEqual(support.content["application/json"].schema.required, ["departmentId"]);
  assert.equal(support.content["application/json"].schema.additionalProperties, false);
});

Deno.test("what the API returns matches the documented status and response schema", async () => {
  await using t = await testApp();
  await setUp(t);
  const owner = await t.services.db.selectFrom("users").select("id").executeTakeFirstOrThrow();
  const token = (await t.services.apiTokens.create({
    userId: owner.id,
    name: "openapi",
    expiresAt: null,
  }, { kind: "system" })).token;
  const dept = await department(t.services);
  await insertDevice(t.services.db, {
    id: "dev-openapi",
    secretHash: hashToken("s"),
    departmentId: dept,
    groupId: null,
    name: "PC-OPENAPI",
    tokenId: "t",
    now: t.clock.now(),
  });
  const checked: string[] = [];
  const call = async (method: string, path: string, body?: unknown, auth = true) => {
    const headers = new Headers();
    if (auth) headers.set("Authorization", `Bearer ${token}`);
    if (body !== undefined) headers.set("Content-Type", "application/json");
    const res = await t.app.request(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    }, { remoteAddr: { hostname: "198.51.100.1" } });
    const template = path.split("?")[0]!;
    const op = API_OPERATIONS.find((o) =>
      o.method === method.toLowerCase() &&
      new RegExp(`^${o.path.replace(/:\w+/g, "[^/]+")}$`).test(template)
    );
    assert.ok(op, `${method} ${path} is documented`);
    assert.ok(res.status in op.responses, `${method} ${path}: ${res.status} is not documented`);
    const schema = op.responses[res.status];
    const text = await res.text();
    if (schema === null) assert.equal(text, "");
    else {
      const parsed = schema!.safeParse(JSON.parse(text));
      assert.ok(
        parsed.success,
        `${method} ${path} ${res.status}: ${parsed.error?.message}\n${text}`,
      );
    }
    checked.push(`${method} ${op.path} ${res.status}`);
    return text ? JSON.parse(text) : null;
  };
  await call("GET", "/api/v1/devices");
  await call("GET", "/api/v1/devices?status=sideways");
  await call("GET", "/api/v1/devices", undefined, false);
  await call("GET", "/api/v1/devices/dev-openapi");
  await call("GET", "/api/v1/devices/nope");
  const opened = await call("POST", "/api/v1/devices/dev-openapi/sessions", {});
  if (opened.session) {
    await call("GET", `/api/v1/sessions/${opened.session.id}`);
    await call("POST", `/api/v1/sessions/${opened.session.id}/authorize`, {});
    await call("POST", `/api/v1/sessions/${opened.session.id}/close`);
  }
  await call("GET", "/api/v1/devices/dev-openapi/email-authorization");
  await call("PUT", "/api/v1/devices/dev-openapi/email-authorization", {
    required: true,
    recipients: ["approver@example.com"],
  });
  await call("PUT", "/api/v1/devices/dev-openapi/email-authorization", { required: "yes" });
  await call("DELETE", "/api/v1/devices/dev-openapi/email-authorization");
  const created = await call("POST", "/api/v1/support-sessions", { departmentId: dept });
  await call("GET", "/api/v1/support-sessions");
  await call("GET", `/api/v1/support-sessions/${created.supportSession.id}`);
  await call("POST", `/api/v1/support-sessions/${created.supportSession.id}/close`);
  await call("DELETE", `/api/v1/support-sessions/${created.supportSession.id}`);
  await call("GET", "/api/v1/approvals");
  await call("POST", "/api/v1/approvals/nope", { decision: "allow" });
  await call("GET", "/api/v1/audit");
  assert.ok(checked.length >= 18, checked.join("\n"));
});
