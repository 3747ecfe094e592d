import assert from "node:assert/strict";
import {
  acceptsReport,
  compareVersions,
  decideUpdate,
  probationExpired,
  type UpdateHistory,
} from "./agent_updates.ts";

type Input = Parameters<typeof decideUpdate>[0];

Deno.test("versions order by number, a pre-release before its release, garbage before all", () => {
  const ordered = [
    "nonsense",
    "0.1.0",
    "0.2.0-1",
    "0.2.0-alpha",
    "0.2.0-rc",
    "0.2.0-rc.1",
    "0.2.0-rc.2",
    "0.2.0",
    "0.10.0",
    "1.0.0",
  ];
  for (let i = 0; i < ordered.length - 1; i++) {
    assert.ok(
      compareVersions(ordered[i]!, ordered[i + 1]!) < 0,
      `${ordered[i]} < ${ordered[i + 1]}`,
    );
    assert.ok(compareVersions(ordered[i + 1]!, ordered[i]!) > 0);
  }
  assert.equal(compareVersions("1.2.3", "1.2.3"), 0);
});

const shipped = [
  { platform: "linux-x64", version: "0.2.0", sha256: "a" },
  { platform: "linux-arm64", version: "0.2.0", sha256: "b" },
  { platform: "windows-x64", version: "0.3.0", sha256: "c" },
];
const base: Input = {
  deviceKind: "agent",
  agentVersion: "0.1.0",
  os: "linux",
  shipped,
  held: false,
  last: null,
};

Deno.test("an older agent is offered the newest package of its OS, and only that OS's packages", () => {
  assert.deepEqual(decideUpdate(base), {
    kind: "offer",
    version: "0.2.0",
    packages: shipped.slice(0, 2),
  });
  assert.deepEqual(decideUpdate({ ...base, os: "windows" }).kind, "offer");
});

Deno.test("no offer when current, held, a support app, no package, or the same package failed there", () => {
  const none = (input: Partial<Input>) =>
    (decideUpdate({ ...base, ...input }) as { reason?: string }).reason;
  assert.equal(none({ agentVersion: "0.2.0" }), "current");
  assert.equal(none({ agentVersion: "0.3.0" }), "current");
  assert.deepEqual(decideUpdate({ ...base, held: true }), {
    kind: "none",
    reason: "held",
    version: "0.2.0",
  });
  assert.equal(none({ deviceKind: "support" }), "support_app");
  assert.equal(none({ os: "darwin" }), "no_package");
  assert.equal(
    none({ last: { version: "0.2.0", sha256: "a", state: "rolled_back" } }),
    "failed_before",
  );
  assert.equal(
    none({ last: { version: "0.2.0", sha256: "b", state: "refused" } }),
    "failed_before",
  );
  // A rebuilt package (new hash) is offered again; so is one that was only offered.
  assert.equal(
    decideUpdate({ ...base, last: { version: "0.2.0", sha256: "z", state: "refused" } }).kind,
    "offer",
  );
  assert.equal(
    decideUpdate({ ...base, last: { version: "0.2.0", sha256: "a", state: "offered" } }).kind,
    "offer",
  );
});

Deno.test("a package that failed on a device stays refused there while its department holds updates", () => {
  const failed = { version: "0.2.0", sha256: "a", state: "rolled_back" as const };
  assert.equal(
    (decideUpdate({ ...base, held: true, last: failed }) as { reason?: string }).reason,
    "failed_before",
  );
  // Held back before, released now: offered.
  assert.equal(
    decideUpdate({ ...base, last: { version: "0.2.0", sha256: "", state: "held" } }).kind,
    "offer",
  );
});

Deno.test("probation runs out exactly at the grace period", () => {
  assert.equal(probationExpired(1000, 1000 + 59_999, 60_000), false);
  assert.equal(probationExpired(1000, 1000 + 60_000, 60_000), true);
});

Deno.test("an agent's report is recorded only when it moves the update it was offered forward", () => {
  const at = (state: UpdateHistory["state"]) => ({ version: "0.2.0", state });
  // The way an update goes.
  assert.ok(acceptsReport(at("offered"), { version: "0.2.0", state: "downloaded" }));
  assert.ok(acceptsReport(at("downloaded"), { version: "0.2.0", state: "verified" }));
  assert.ok(acceptsReport(at("verified"), { version: "0.2.0", state: "installed" }));
  assert.ok(acceptsReport(at("downloaded"), { version: "0.2.0", state: "refused" }));
  // Offered again before the rollback was heard of.
  assert.ok(acceptsReport(at("offered"), { version: "0.2.0", state: "rolled_back" }));
  // Repeats, steps back, ends after an end.
  assert.ok(!acceptsReport(at("downloaded"), { version: "0.2.0", state: "downloaded" }));
  assert.ok(!acceptsReport(at("verified"), { version: "0.2.0", state: "downloaded" }));
  assert.ok(!acceptsReport(at("installed"), { version: "0.2.0", state: "rolled_back" }));
  assert.ok(!acceptsReport(at("refused"), { version: "0.2.0", state: "installed" }));
  // Nothing offered, another version, or held back.
  assert.ok(!acceptsReport(null, { version: "0.2.0", state: "installed" }));
  assert.ok(!acceptsReport(at("offered"), { version: "9.9.9", state: "downloaded" }));
  assert.ok(!acceptsReport(at("held"), { version: "0.2.0", state: "downloaded" }));
});
