// File transfer reaches only the department's roots, and never the agent's own files: a real
// server, a real agent process, requests as the technician's browser makes them.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type AgentProcess, spawnAgent } from "./support/agent.ts";
import { authorizedSession } from "./support/channels.ts";
import { textOf } from "./support/client.ts";
import { enrollmentToken } from "./support/devices.ts";
import { type World, world } from "./support/world.ts";
import { until } from "./support/wait.ts";

const OWN = /belongs to the Assent agent itself and is never reachable through file transfer/;
const OUTSIDE = /is outside what file transfer may reach on this device/;

/**
 * A device whose agent keeps its state in `base/state` and takes uploads in `base/uploads`,
 * online and reporting its folders, with an authorized session of the owner on it.
 */
async function device(w: World, base: string) {
  await Deno.mkdir(`${base}/uploads`, { recursive: true });
  const agent = await spawnAgent({
    server: w.server.url,
    enroll: await enrollmentToken(w.server.services, w.departmentId),
    name: "PC-REACH",
    stateDir: `${base}/state`,
    extraArgs: ["--session-state", "unlocked", "--upload-dir", `${base}/uploads`],
  });
  await agent.waitForLog(/connected to/);
  let deviceId = "";
  await until("the device online with its transfer folders", async () => {
    const row = await w.server.services.db.selectFrom("devices")
      .select(["id", "transfer_folders"]).where("name", "=", "PC-REACH").executeTakeFirst();
    deviceId = row?.id ?? "";
    return row?.transfer_folders != null && w.server.services.hub.isOnline(row.id);
  });
  const sessionId = await authorizedSession(w.owner, deviceId);
  return { agent, deviceId, sessionId };
}

function cookie(w: World): string {
  return [...w.owner.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
}

async function download(w: World, sessionId: string, path: string) {
  const res = await fetch(
    `${w.server.url}/sessions/${sessionId}/files/download?path=${encodeURIComponent(path)}`,
    { headers: { Cookie: cookie(w) } },
  );
  return { status: res.status, text: await res.text() };
}

async function upload(
  w: World,
  sessionId: string,
  query: { name: string; folder?: string },
  content: Uint8Array,
) {
  const sha256 = createHash("sha256").update(content).digest("hex");
  const params = new URLSearchParams({ ...query, size: String(content.length), sha256 });
  params.set("overwrite", "1");
  const res = await fetch(`${w.server.url}/sessions/${sessionId}/files/upload?${params}`, {
    method: "POST",
    headers: {
      Cookie: cookie(w),
      "X-CSRF-Token": w.owner.csrf,
      "Content-Type": "application/octet-stream",
    },
    body: content as BufferSource,
  });
  return { status: res.status, body: await res.json() };
}

async function makeFolder(w: World, sessionId: string, query: { path: string; folder?: string }) {
  const res = await fetch(
    `${w.server.url}/sessions/${sessionId}/files/folder?${new URLSearchParams(query)}`,
    { method: "POST", headers: { Cookie: cookie(w), "X-CSRF-Token": w.owner.csrf } },
  );
  return { status: res.status, body: await res.json() };
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    const data = entry.isFile ? await Deno.readFile(`${dir}/${entry.name}`) : new Uint8Array();
    out[entry.name] = createHash("sha256").update(data).digest("hex");
  }
  return out;
}

async function refusals(w: World, sessionId: string) {
  return (await w.server.services.db.selectFrom("audit_log").select(["action", "outcome"])
    .where("session_id", "=", sessionId).where("action", "=", "channel.refused").execute())
    .map((r) => r.outcome);
}

async function withBase(fn: (base: string) => Promise<void>) {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "assent-reach-" }));
  try {
    await fn(base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

Deno.test("through file transfer the agent's credential, key and state folder cannot be listed or downloaded, even inside an allowed root", async () => {
  await using w = await world();
  await withBase(async (base) => {
    // The admin lets file transfer reach the folder that holds the agent's state.
    await w.policies((p) => ({ ...p, fileTransfer: { userHomes: true, paths: [base] } }));
    let agent: AgentProcess | undefined;
    try {
      const d = await device(w, base);
      agent = d.agent;
      const { sessionId } = d;
      await Deno.symlink(`${base}/state/credential.json`, `${base}/uploads/innocent.json`);
      await Deno.symlink(`${base}/state`, `${base}/uploads/folder`);

      const top = await textOf(
        await w.owner.get(`/sessions/${sessionId}/files?path=${encodeURIComponent(base)}`),
      );
      assert.match(top, /📁 uploads/);
      assert.doesNotMatch(top, /📁 state/, "the state folder is not even listed");
      const uploads = await textOf(
        await w.owner.get(
          `/sessions/${sessionId}/files?path=${encodeURIComponent(`${base}/uploads`)}`,
        ),
      );
      assert.doesNotMatch(uploads, /innocent\.json|📁 folder/, "links to it are not listed");
      const state = await textOf(
        await w.owner.get(
          `/sessions/${sessionId}/files?path=${encodeURIComponent(`${base}/state`)}`,
        ),
      );
      assert.match(state, OWN);
      assert.doesNotMatch(state, /credential\.json|device-key\.json/);

      const secret = JSON.parse(await Deno.readTextFile(`${base}/state/credential.json`)).secret;
      for (
        const path of [
          `${base}/state/credential.json`,
          `${base}/state/device-key.json`,
          `${base}/uploads/innocent.json`,
          `${base}/uploads/folder/credential.json`,
        ]
      ) {
        const res = await download(w, sessionId, path);
        assert.equal(res.status, 409, path);
        assert.match(res.text, OWN, path);
        assert.ok(!res.text.includes(secret), "not a byte of the secret");
      }
      // ".." never reaches the agent; /etc/passwd is outside the roots.
      const dotted = await download(w, sessionId, `${base}/uploads/../state/credential.json`);
      assert.equal(dotted.status, 403);
      assert.match(dotted.text, /is not a full path on this device/);
      const passwd = await download(w, sessionId, "/etc/passwd");
      assert.equal(passwd.status, 403);
      assert.match(passwd.text, OUTSIDE);
      assert.deepEqual(await refusals(w, sessionId), ["invalid_path", "outside_reach"]);
      const started = await w.server.services.db.selectFrom("audit_log").select("detail")
        .where("session_id", "=", sessionId).where("action", "=", "file_transfer.started")
        .execute();
      assert.equal(started.filter((r) => /credential|device-key/.test(r.detail!)).length, 0);
    } finally {
      await agent?.[Symbol.asyncDispose]();
    }
  });
});

Deno.test("uploads outside the roots or into the agent's state folder are refused and write nothing", async () => {
  await using w = await world();
  await withBase(async (base) => {
    await w.policies((p) => ({ ...p, fileTransfer: { userHomes: true, paths: [base] } }));
    let agent: AgentProcess | undefined;
    try {
      const d = await device(w, base);
      agent = d.agent;
      const state = await snapshot(`${base}/state`);
      const passwd = await Deno.readFile("/etc/passwd");
      const content = new TextEncoder().encode('{"deviceId":"evil","secret":"planted-secret-0"}');

      const outside = await upload(w, d.sessionId, { name: "passwd", folder: "/etc" }, content);
      assert.equal(outside.status, 403);
      assert.match(outside.body.error, OUTSIDE);
      const own = await upload(
        w,
        d.sessionId,
        { name: "credential.json", folder: `${base}/state` },
        content,
      );
      assert.equal(own.status, 403);
      assert.match(own.body.error, OWN);
      const dotted = await upload(
        w,
        d.sessionId,
        { name: "credential.json", folder: `${base}/uploads/../state` },
        content,
      );
      assert.equal(dotted.status, 403);

      assert.deepEqual(await snapshot(`${base}/state`), state, "the state folder is untouched");
      assert.deepEqual(await Deno.readFile("/etc/passwd"), passwd);
      assert.deepEqual(await snapshot(`${base}/uploads`), {});

      // Inside a root, an upload to a chosen folder lands there.
      const fine = await upload(w, d.sessionId, { name: "tool.txt", folder: base }, content);
      assert.equal(fine.status, 200, JSON.stringify(fine.body));
      assert.equal(fine.body.path, `${base}/tool.txt`);
    } finally {
      await agent?.[Symbol.asyncDispose]();
    }
  });
});

Deno.test("the files page starts from the roots, and the policy's folders are enforced as the admin changes them", async () => {
  await using w = await world();
  await withBase(async (base) => {
    await Deno.mkdir(`${base}/shared`);
    await Deno.writeTextFile(`${base}/shared/handbook.txt`, "read me");
    let agent: AgentProcess | undefined;
    try {
      const d = await device(w, base);
      agent = d.agent;
      // By default: the upload folder (the agent runs as root, whose home is nobody's).
      const page = await textOf(await w.owner.get(`/sessions/${d.sessionId}/files`));
      assert.match(page, new RegExp(`File transfer may reach ${base}/uploads Upload folder`));
      const before = await download(w, d.sessionId, `${base}/shared/handbook.txt`);
      assert.equal(before.status, 403);
      assert.match(before.text, OUTSIDE);

      await w.owner.get(`/settings/${w.departmentId}`);
      const saved = await w.owner.post(`/settings/${w.departmentId}/file-transfer`, {
        userHomes: "on",
        paths: `${base}/shared`,
      });
      assert.equal(saved.status, 303);
      const listed = await textOf(await w.owner.get(`/sessions/${d.sessionId}/files`));
      assert.match(listed, new RegExp(`${base}/shared Added by an admin`));
      const after = await download(w, d.sessionId, `${base}/shared/handbook.txt`);
      assert.equal(after.status, 200);
      assert.equal(after.text, "read me");

      await w.owner.get(`/settings/${w.departmentId}`);
      await w.owner.post(`/settings/${w.departmentId}/file-transfer`, { paths: "" });
      const removed = await download(w, d.sessionId, `${base}/shared/handbook.txt`);
      assert.equal(removed.status, 403);
    } finally {
      await agent?.[Symbol.asyncDispose]();
    }
  });
});

Deno.test("a folder upload makes its folders on the device and puts each file in its place", async () => {
  await using w = await world();
  await withBase(async (base) => {
    let agent: AgentProcess | undefined;
    try {
      const d = await device(w, base);
      agent = d.agent;
      const files = { "a/b/c.txt": "c in b in a\n", "a/d.txt": "d in a\n" };
      for (const [relative, text] of Object.entries(files)) {
        const parts = relative.split("/");
        const made = await makeFolder(w, d.sessionId, { path: parts.slice(0, -1).join("/") });
        assert.equal(made.status, 200, JSON.stringify(made.body));
        const sent = await upload(
          w,
          d.sessionId,
          { name: parts.at(-1)!, folder: made.body.path },
          new TextEncoder().encode(text),
        );
        assert.equal(sent.status, 200, JSON.stringify(sent.body));
      }
      for (const [relative, text] of Object.entries(files)) {
        const data = await Deno.readFile(`${base}/uploads/${relative}`);
        assert.equal(
          createHash("sha256").update(data).digest("hex"),
          createHash("sha256").update(text).digest("hex"),
          relative,
        );
      }
      // An existing folder is fine.
      const again = await makeFolder(w, d.sessionId, { path: "a/b", folder: `${base}/uploads` });
      assert.equal(again.status, 200);
      assert.deepEqual(again.body, { ok: true, path: `${base}/uploads/a/b`, created: false });
    } finally {
      await agent?.[Symbol.asyncDispose]();
    }
  });
});

Deno.test("a browser asking to make a folder outside the folder or the roots is refused with a plain 4xx and nothing is made", async () => {
  await using w = await world();
  await withBase(async (base) => {
    let agent: AgentProcess | undefined;
    try {
      const d = await device(w, base);
      agent = d.agent;
      const before = await snapshot(base);
      for (
        const path of ["../outside", "a/../../outside", `${base}/outside`, "/tmp/x", "a\0b", "a//b"]
      ) {
        const res = await makeFolder(w, d.sessionId, { path });
        assert.equal(res.status, 400, path);
        assert.match(res.body.error, /is not a folder path within the folder on show/, path);
      }
      const outside = await makeFolder(w, d.sessionId, { path: "outside", folder: "/tmp" });
      assert.equal(outside.status, 403);
      assert.match(outside.body.error, OUTSIDE);
      const dotted = await makeFolder(w, d.sessionId, {
        path: "outside",
        folder: `${base}/uploads/..`,
      });
      assert.equal(dotted.status, 400);
      assert.match(dotted.body.error, /is not a full path on this device/);

      assert.deepEqual(await snapshot(base), before, "nothing was made next to the uploads");
      assert.deepEqual(await snapshot(`${base}/uploads`), {});
      assert.equal(await Deno.stat("/tmp/outside").catch(() => null), null);
      const outcomes = await refusals(w, d.sessionId);
      assert.equal(outcomes.filter((o) => o === "invalid_path").length, 7);
      assert.equal(outcomes.filter((o) => o === "outside_reach").length, 1);
      const opened = await w.server.services.db.selectFrom("audit_log").select("action")
        .where("session_id", "=", d.sessionId).where("action", "=", "file_transfer.started")
        .execute();
      assert.deepEqual(opened, [], "no channel reached the agent");
    } finally {
      await agent?.[Symbol.asyncDispose]();
    }
  });
});
