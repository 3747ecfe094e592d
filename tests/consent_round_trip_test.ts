// What a consent round trip costs the database, on a real server with a real agent: each use
// case reads the session and its device once, in one transaction, and the record stays whole
// when many ask at once.
import assert from "node:assert/strict";
import type { CompiledQuery } from "kysely";
import { currentApiToken } from "../lib/attribution.ts";
import type { Db } from "../store/db.ts";
import { findDevice } from "../store/devices.ts";
import { findUser } from "../store/users.ts";
import { type CurrentUser, toCurrentUser } from "../services/accounts.ts";
import { type World, world } from "./support/world.ts";
import { quietWork } from "./support/work.ts";
import { silentLogger } from "../lib/log.ts";
import { DeviceEvents } from "../services/device_events.ts";
import type { AgentLink, AgentListener } from "../services/ports.ts";
import { SessionTransitions } from "../services/session_transitions.ts";
import { until } from "./support/wait.ts";

/**
 * The statements run (those for which `counts` holds, all by default) and the transactions begun
 * on `db` while `fn` runs.
 */
async function watched<T>(
  db: Db,
  fn: () => Promise<T>,
  counts: () => boolean = () => true,
): Promise<{ value: T; statements: CompiledQuery[]; transactions: number }> {
  const statements: CompiledQuery[] = [];
  let transactions = 0;
  // Every executor (the database's and each transaction's) shares this prototype.
  const proto = Object.getPrototypeOf(db.getExecutor());
  const execute = proto.executeQuery;
  proto.executeQuery = function (this: unknown, query: CompiledQuery, ...rest: unknown[]) {
    if (counts()) statements.push(query);
    return execute.call(this, query, ...rest);
  };
  const begin = db.transaction;
  db.transaction = function (this: Db) {
    transactions++;
    return begin.call(this);
  };
  try {
    return { value: await fn(), statements, transactions };
  } finally {
    proto.executeQuery = execute;
    delete (db as { transaction?: unknown }).transaction;
  }
}

/**
 * The statements API requests through token `tokenId` run once the token is checked (what the
 * agent's messages cause meanwhile is not theirs) while `fn` runs.
 */
function watchedRequests<T>(db: Db, tokenId: string, fn: () => Promise<T>) {
  return watched(db, fn, () => currentApiToken()?.tokenId === tokenId);
}

/** How many statements read `table`'s row `id`. */
function reads(statements: CompiledQuery[], table: string, id: string): number {
  const from = new RegExp(`^select\\b.*\\bfrom "${table}"( |$)`, "i");
  return statements.filter((q) => from.test(q.sql) && q.parameters.includes(id)).length;
}

async function owner(w: World): Promise<CurrentUser> {
  const { db } = w.server.services;
  const row = await db.selectFrom("users").select("id").where("email", "=", "owner@example.com")
    .executeTakeFirstOrThrow();
  return toCurrentUser((await findUser(db, row.id))!);
}

async function openSession(w: World, user: CurrentUser, deviceId: string): Promise<string> {
  const device = (await findDevice(w.server.services.db, deviceId))!;
  return (await w.server.services.sessions.open(user, device, null)).id;
}

Deno.test({
  name:
    "Request Authorization reads the session and the device once and writes the request and its prompt in one transaction; with no channel open the receipt is complete with the deauthorization",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("PC-ROUND-TRIP");
    const { db, sessions } = w.server.services;
    const user = await owner(w);
    const sessionId = await openSession(w, user, deviceId);

    const requested = await watched(db, () => sessions.requestAuthorization(user, sessionId));
    assert.equal(requested.value.kind, "requested");
    assert.equal(reads(requested.statements, "support_sessions", sessionId), 1);
    assert.equal(reads(requested.statements, "devices", deviceId), 1);
    assert.equal(requested.transactions, 1);
    // Secure Connect is off for the department: when the technician last passed it is not read.
    assert.equal(
      requested.statements.filter((q) => /from "secure_connect_windows"/.test(q.sql)).length,
      0,
    );
    await agent.waitForScreen(/Olive Owner wants to connect to this device/);

    // The answer: the prompt, the session and core's judgement in one transaction, the prompt
    // and its session read in one statement. Waited for on the live bus, which reads nothing.
    let authorized = false;
    const unsubscribe = w.server.services.events.subscribe((e) => {
      if (e.kind === "session" && e.sessionId === sessionId) authorized = true;
    });
    const answered = await watched(db, async () => {
      await agent.type("a");
      await until("the session authorized", () => authorized);
    }).finally(unsubscribe);
    assert.equal((await sessions.get(sessionId))?.session.status.kind, "authorized");
    assert.equal(answered.transactions, 1);
    assert.equal(
      answered.statements.filter((q) => /^select\b.*\bfrom "device_prompts"/.test(q.sql)).length,
      1,
    );
    assert.equal(reads(answered.statements, "support_sessions", sessionId), 0);

    // The deauthorization: no channel was open, so its receipt is complete in the same
    // transaction (written complete, never read back or updated from pending). Then the agent
    // acknowledges the revoke and the receipt, with the session each was about and that
    // device's department read in one statement.
    const acknowledged = async () =>
      (await db.selectFrom("audit_log").select("action").where("session_id", "=", sessionId)
        .where("action", "in", ["authorization.revoke_acknowledged", "receipt.acknowledged"])
        .execute()).length === 2;
    const ended = await watched(db, async () => {
      const session = await sessions.deauthorize(user, sessionId);
      await until("the revoke and the receipt acknowledged", acknowledged);
      return session;
    });
    assert.equal(ended.value.status.kind, "unauthorized");
    assert.equal(reads(ended.statements, "devices", deviceId), 1);
    // One for the deauthorization with its receipt; the acknowledgements one or two, as they
    // arrive.
    assert.ok(ended.transactions <= 3, `${ended.transactions} transactions`);
    const receipt = await db.selectFrom("consent_receipts").select(["id", "attempt_id", "status"])
      .where("session_id", "=", sessionId).executeTakeFirstOrThrow();
    assert.equal(receipt.status, "complete");
    assert.equal(reads(ended.statements, "consent_receipts", receipt.attempt_id), 0);
    assert.equal(reads(ended.statements, "consent_receipts", receipt.id), 0);
    assert.equal(
      ended.statements.filter((q) => /^update "consent_receipts"/.test(q.sql)).length,
      0,
    );

    // The record is what it always was, in order.
    const actions = (await db.selectFrom("audit_log").select("action")
      .where("session_id", "=", sessionId).orderBy("seq").execute()).map((r) => r.action);
    const expected = [
      "session.opened",
      "authorization.requested",
      "confirmation.prompted",
      "confirmation.accepted",
      "authorization.granted",
      "authorization.deauthorized",
      "receipt.issued",
    ];
    assert.deepEqual(actions.filter((a) => expected.includes(a)), expected);
  },
});

Deno.test({
  name:
    "through the API, Request Authorization and Deauthorize read the session and its device once each, and the viewer not again",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("PC-API-ROUND-TRIP");
    const { db, sessions, apiTokens } = w.server.services;
    const user = await owner(w);
    const sessionId = await openSession(w, user, deviceId);
    const { id: tokenId, token } = await apiTokens.create(
      { userId: user.id, name: "round trip", expiresAt: null },
      { kind: "system" },
    );
    const post = async (path: string) => {
      const res = await fetch(`${w.server.url}/api/v1/sessions/${sessionId}/${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      });
      return { status: res.status, json: await res.json() };
    };

    // The token is checked with its user in one statement.
    const signedIn = await watched(db, () =>
      fetch(`${w.server.url}/api/v1/sessions/${sessionId}`, {
        headers: { Authorization: `Bearer ${token}` },
      }).then((res) => res.json()));
    assert.equal(signedIn.value.session.id, sessionId);
    assert.equal(signedIn.statements.filter((q) => /\bfrom "api_tokens"/.test(q.sql)).length, 1);
    assert.equal(reads(signedIn.statements, "users", user.id), 0);

    const requested = await watchedRequests(db, tokenId, () => post("authorize"));
    assert.equal(requested.value.status, 202);
    assert.equal(requested.value.json.session.status, "authorizing");
    assert.equal(reads(requested.statements, "support_sessions", sessionId), 1);
    assert.equal(reads(requested.statements, "devices", deviceId), 1);
    await agent.waitForScreen(/Olive Owner wants to connect to this device/);
    await agent.type("a");
    await until(
      "the session authorized",
      async () => (await sessions.get(sessionId))?.session.status.kind === "authorized",
    );

    const ended = await watchedRequests(db, tokenId, () => post("deauthorize"));
    assert.equal(ended.value.status, 200);
    assert.equal(ended.value.json.session.status, "unauthorized");
    assert.equal(reads(ended.statements, "support_sessions", sessionId), 1);
    assert.equal(reads(ended.statements, "devices", deviceId), 1);
    // Who ended it is the token's owner, read when the token was checked: not read again.
    assert.equal(reads(ended.statements, "users", user.id), 0);
    assert.equal(ended.value.json.session.lastOutcome.byName, user.name);

    // A session the token's user may not see is still not found, whichever way it is asked.
    for (const path of ["authorize", "deauthorize"]) {
      const res = await fetch(`${w.server.url}/api/v1/sessions/nope/${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), {
        error: "There is no such support session",
        code: "not_found",
      });
    }
  },
});

Deno.test({
  name:
    "fifty Request Authorizations at once: each supersedes the one before, whole and in order, and one attempt is left pending",
  async fn() {
    await using w = await world();
    await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
    const { agent, deviceId } = await w.agent("PC-FIFTY");
    const { db, sessions } = w.server.services;
    const user = await owner(w);
    const sessionId = await openSession(w, user, deviceId);

    const results = await Promise.allSettled(
      Array.from({ length: 50 }, () => sessions.requestAuthorization(user, sessionId)),
    );
    // Each request is one unit: a later one supersedes the attempt before it, and the record
    // holds every step whole and in order, never two requests' rows interleaved.
    const attempts = new Set<string>();
    for (const r of results) {
      assert.equal(r.status, "fulfilled", r.status === "rejected" ? String(r.reason) : "");
      if (r.status !== "fulfilled" || r.value.kind !== "requested") continue;
      const status = r.value.session.status;
      assert.equal(status.kind, "authorizing");
      if (status.kind === "authorizing") attempts.add(status.attempt.id);
    }
    assert.equal(attempts.size, 50, "every request started its own attempt");
    // The agent's acknowledgements of withdrawn prompts arrive when they arrive: left out.
    const rows = (await db.selectFrom("audit_log").select(["action", "attempt_id"])
      .where("session_id", "=", sessionId).orderBy("seq").execute())
      .filter((r) => r.action !== "confirmation.withdraw_acknowledged");
    const first = ["authorization.requested", "confirmation.prompted"];
    const later = ["confirmation.withdrawn", "authorization.withdrawn", ...first];
    assert.deepEqual(
      rows.map((r) => r.action),
      ["session.opened", ...first, ...Array.from({ length: 49 }, () => later).flat()],
    );
    // One attempt is left pending, with the one prompt not withdrawn.
    const session = (await sessions.get(sessionId))!.session;
    assert.equal(session.status.kind, "authorizing");
    const pending = session.status.kind === "authorizing" ? session.status.attempt.id : "";
    assert.equal(rows.at(-1)!.attempt_id, pending);
    const prompts = await db.selectFrom("device_prompts").select("attempt_id")
      .where("session_id", "=", sessionId).execute();
    assert.equal(prompts.length, 50);
    assert.equal(prompts.filter((p) => p.attempt_id === pending).length, 1);
    await agent.waitForScreen(/Olive Owner wants to connect to this device/);
  },
});

/** Three devices, each with a session whose authorization waits on its prompt. */
async function promptedOnThreeDevices(w: World, prefix: string) {
  await w.policies((p) => ({ ...p, confirmation: { ...p.confirmation, enabled: true } }));
  const { db, sessions } = w.server.services;
  const user = await owner(w);
  const sessionIds: string[] = [];
  for (const n of [1, 2, 3]) {
    const { deviceId } = await w.agent(`${prefix}-${n}`);
    const sessionId = await openSession(w, user, deviceId);
    assert.equal((await sessions.requestAuthorization(user, sessionId)).kind, "requested");
    sessionIds.push(sessionId);
  }
  const prompts = await db.selectFrom("device_prompts").select(["id", "device_id", "session_id"])
    .where("session_id", "in", sessionIds).execute();
  assert.equal(prompts.length, 3);
  return { sessionIds, prompts };
}

/** Each prompt's session was accepted and granted, once, in the order of the prompts. */
async function grantedInOrder(db: Db, prompts: { session_id: string }[]) {
  const granted = await db.selectFrom("audit_log").select(["session_id", "action"])
    .where("session_id", "in", prompts.map((p) => p.session_id))
    .where("action", "in", ["confirmation.accepted", "authorization.granted"])
    .orderBy("seq").execute();
  assert.deepEqual(
    granted.map((r) => [r.session_id, r.action]),
    prompts.flatMap((p) => [
      [p.session_id, "confirmation.accepted"],
      [p.session_id, "authorization.granted"],
    ]),
  );
}

Deno.test({
  name:
    "answers from several devices that arrive together are judged in one transaction, each its own links of the chain, in order",
  async fn() {
    await using w = await world();
    const { db, sessions, clock } = w.server.services;
    const { sessionIds, prompts } = await promptedOnThreeDevices(w, "PC-GROUP");

    // The answers reach device events of the test's own, as one burst of frames would.
    const work = quietWork(db, clock);
    let runs = 0;
    const run = work.run.bind(work);
    work.run = (fn, committed) => (runs++, run(fn, committed));
    let listener: AgentListener = {};
    const events = new DeviceEvents({
      work,
      transitions: new SessionTransitions({
        work,
        events: { publish() {} },
        audit: { audited() {} },
      }),
      agents: { listen: (l: AgentListener) => void (listener = l) } as unknown as AgentLink,
      clock,
      log: silentLogger,
    });
    events.start();
    for (const p of prompts) {
      listener.message?.(p.device_id, { type: "prompt_answer", promptId: p.id, answer: "accept" });
    }
    await until("every session authorized", async () => {
      for (const id of sessionIds) {
        if ((await sessions.get(id))?.session.status.kind !== "authorized") return false;
      }
      return true;
    });
    assert.equal(runs, 1);
    await grantedInOrder(db, prompts);
  },
});

Deno.test({
  name:
    "answers grouped in a transaction that committed are not written again when what runs after the commit fails",
  async fn() {
    await using w = await world();
    const { db, sessions, clock } = w.server.services;
    const { sessionIds, prompts } = await promptedOnThreeDevices(w, "PC-AFTER");

    // The first announcement after the commit fails: the answers are on record all the same.
    const work = quietWork(db, clock);
    let announced = 0;
    const failures: unknown[] = [];
    let listener: AgentListener = {};
    new DeviceEvents({
      work,
      transitions: new SessionTransitions({
        work,
        events: {
          publish() {
            if (announced++ === 0) throw new Error("a live page could not be told");
          },
        },
        audit: { audited() {} },
      }),
      agents: { listen: (l: AgentListener) => void (listener = l) } as unknown as AgentLink,
      clock,
      log: {
        ...silentLogger,
        error: (_message: string, fields?: unknown) => failures.push(fields),
      },
    }).start();
    for (const p of prompts) {
      listener.message?.(p.device_id, { type: "prompt_answer", promptId: p.id, answer: "accept" });
    }
    const ignored = () =>
      db.selectFrom("audit_log").select("session_id").where("session_id", "in", sessionIds)
        .where("action", "=", "answer.ignored").execute();
    // Either the failure is told, or an answer is judged a second time.
    await until(
      "the failure after the commit reported",
      async () => failures.length > 0 || (await ignored()).length > 0,
    );
    assert.deepEqual(await ignored(), [], "no answer is judged again");
    await grantedInOrder(db, prompts);
    for (const id of sessionIds) {
      assert.equal((await sessions.get(id))?.session.status.kind, "authorized");
    }
  },
});
