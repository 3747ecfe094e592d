import assert from "node:assert/strict";
import { Hono } from "hono";
import type { CurrentUser } from "../../services/accounts.ts";
import type { Role } from "../../services/directory.ts";
import { type AppEnv, HttpError } from "../env.ts";
import { requireRole, requireUser } from "./access.ts";

/** A bare app whose requests are signed in as the role in `X-Role`, or not at all. */
function app(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("*", async (c, next) => {
    const role = c.req.header("X-Role") as Role | undefined;
    const user: CurrentUser | null = role
      ? { id: "u1", email: "u@example.com", name: "U", role, mfaEnabled: false }
      : null;
    c.set("user", user);
    await next();
  });
  app.onError((err, c) => {
    if (err instanceof HttpError) return c.text(err.message, err.status);
    throw err;
  });
  app.get("/", requireUser(), (c) => c.text("home"));
  app.get("/devices/:id", requireUser(), (c) => c.text("device"));
  app.post("/devices/:id", requireUser(), (c) => c.text("changed"));
  app.get("/admin", requireUser(), requireRole("super_admin", "admin"), (c) => c.text("admin"));
  app.post("/admin", requireRole("super_admin"), (c) => c.text("super admin only"));
  return app;
}

function as(role?: Role, method = "GET"): RequestInit {
  return { method, headers: role ? { "X-Role": role } : {} };
}

Deno.test("a visitor who is not signed in is sent to sign in and brought back after", async () => {
  const res = await app().request("/devices/d1?tab=files", as());
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("Location"), "/login?next=%2Fdevices%2Fd1");
  const home = await app().request("/", as());
  assert.equal(home.status, 303);
  assert.equal(home.headers.get("Location"), "/login", "the dashboard needs no way back");
});

Deno.test("a change by a visitor who is not signed in is refused with 401, not redirected", async () => {
  const res = await app().request("/devices/d1", as(undefined, "POST"));
  assert.equal(res.status, 401);
  assert.equal(await res.text(), "Sign in to continue");
  const signedIn = await app().request("/devices/d1", as("technician", "POST"));
  assert.equal(await signedIn.text(), "changed");
});

Deno.test("only the named roles pass a role check; everyone else, signed in or not, gets 403", async () => {
  for (const role of ["super_admin", "admin"] as const) {
    assert.equal(await (await app().request("/admin", as(role))).text(), "admin");
  }
  for (const role of ["technician"] as Role[]) {
    const res = await app().request("/admin", as(role));
    assert.equal(res.status, 403, role);
    assert.equal(await res.text(), "Your role does not allow this page");
  }
  assert.equal((await app().request("/admin", as("admin", "POST"))).status, 403);
  assert.equal((await app().request("/admin", as(undefined, "POST"))).status, 403);
  assert.equal(
    await (await app().request("/admin", as("super_admin", "POST"))).text(),
    "super admin only",
  );
});
