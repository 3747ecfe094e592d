/** Shortcuts for tests that need signed-in users. */
import type { FakeClock } from "../../lib/clock.ts";
import { totpCode } from "../../lib/totp.ts";
import type { Role } from "../../store/schema.ts";
import { setUserDepartments } from "../../store/users.ts";
import type { TestApp } from "./app.ts";
import { Client, httpTransport } from "./client.ts";

/** The password every test user gets. */
export const PASSWORD = "correct horse battery";

/** A client signed in over HTTP as the owner a world sets up, on the server at `url`. */
export async function ownerAt(url: string): Promise<Client> {
  const client = new Client(httpTransport(url));
  await client.get("/login");
  const res = await client.post("/login", { email: "owner@example.com", password: PASSWORD });
  if (res.status !== 303) throw new Error(`the owner's sign-in at ${url} answered ${res.status}`);
  return client;
}

/** Completes first-run setup through the real form and returns the signed-in client. */
export async function setUp(t: TestApp, email = "owner@example.com"): Promise<Client> {
  const client = new Client(t);
  await client.get("/setup");
  const res = await client.post("/setup", {
    organizationName: "Example IT",
    name: "Olive Owner",
    email,
    password: PASSWORD,
    passwordRepeat: PASSWORD,
  });
  if (res.status !== 303) throw new Error(`setup failed with ${res.status}: ${client.lastBody}`);
  return client;
}

/** Creates a user directly through the account service. */
export async function createUser(
  t: TestApp,
  user: { email: string; role: Role; name?: string; departmentIds?: string[] },
): Promise<string> {
  return await t.services.accounts.createUser(
    {
      email: user.email,
      name: user.name ?? user.email.split("@")[0]!,
      role: user.role,
      password: PASSWORD,
    },
    { kind: "system" },
    (trx, id) => setUserDepartments(trx, id, user.departmentIds ?? []),
  );
}

/** Signs in with the password (and a TOTP code when `totpSecret` is given). */
export async function signIn(t: TestApp, email: string, totpSecret?: string): Promise<Client> {
  const client = new Client(t);
  await client.get("/login");
  const res = await client.post("/login", { email, password: PASSWORD });
  if (res.status !== 303) throw new Error(`login failed with ${res.status}`);
  if (res.headers.get("Location")?.startsWith("/login/mfa")) {
    if (!totpSecret) throw new Error("MFA required but no secret given");
    await client.get("/login/mfa");
    const mfa = await client.post("/login/mfa", { code: totpCode(totpSecret, t.clock.now()) });
    if (mfa.status !== 303) throw new Error(`MFA failed with ${mfa.status}`);
  }
  return client;
}

/** Enrols TOTP for the signed-in client through the real pages; returns secret and codes. */
export async function enrolTotp(t: { clock: FakeClock }, client: Client) {
  const page = await client.get("/account/mfa");
  const html = await page.text();
  const secret = html.match(/id="totp-secret">([^<]+)</)?.[1]?.replace(/\s/g, "");
  if (!secret) throw new Error("no secret on the enrolment page");
  const res = await client.post("/account/mfa/confirm", { code: totpCode(secret, t.clock.now()) });
  const body = await res.text();
  const codes = [...body.matchAll(/<code>([a-z0-9]{5}-[a-z0-9]{5})<\/code>/g)].map((m) => m[1]!);
  if (codes.length !== 10) throw new Error(`expected 10 recovery codes, got ${codes.length}`);
  // Step past the enrolment code's time step so the next code is a fresh one.
  t.clock.advance(30_000);
  return { secret, codes };
}
