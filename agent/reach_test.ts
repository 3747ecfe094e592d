import assert from "node:assert/strict";
import { join } from "node:path";
import { type AgentMessage, decodeChannelFrame } from "../protocol/messages.ts";
import { until } from "../tests/support/wait.ts";
import { ChannelHost } from "./channels.ts";
import {
  credentialPath,
  deviceKeyPath,
  loadOrCreateDeviceKey,
  windowsStateDirAcl,
} from "./credentials.ts";
import { agentGuard, type Guard, homeOf, stillReached, transferFolders } from "./reach.ts";
import { supportKeyPath } from "./support_key.ts";

const linux = Deno.build.os === "linux";
type Sent = Extract<AgentMessage, { channelId: number }>;
const OWN = "belongs to the Assent agent itself and is never reachable through file transfer";
const OUTSIDE = "is outside what file transfer may reach on this device";

/** A device's home with the agent's state inside it, the way an agent run as a user keeps it. */
async function withDevice(
  fn: (d: { dir: string; home: string; state: string; guard: Guard }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "assent-reach-" }));
  try {
    const home = join(dir, "home", "ann");
    const state = join(home, ".config", "assent-agent");
    await Deno.mkdir(state, { recursive: true });
    await Deno.mkdir(join(home, "Downloads"));
    await Deno.writeTextFile(credentialPath(state), '{"deviceId":"d","secret":"s"}');
    await loadOrCreateDeviceKey(state);
    await Deno.writeTextFile(join(home, "notes.txt"), "notes");
    const guard = agentGuard({
      stateDir: state,
      files: [credentialPath(state), deviceKeyPath(state)],
    });
    await fn({ dir, home, state, guard });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function host(options: { guard: Guard; uploadDir: string }) {
  const messages: Sent[] = [];
  const data: Uint8Array[] = [];
  const h = new ChannelHost({
    send: (m) => messages.push(m as Sent),
    // The host reuses a frame's buffer once this returns, as a socket copies what it sends.
    sendBinary: (frame) => data.push(decodeChannelFrame(frame.slice())!.payload),
    log: () => {},
    uploadDir: options.uploadDir,
    browseRoot: null,
    guard: options.guard,
    vnc: { hostname: "127.0.0.1", port: 1 },
    maxTransferBytes: 1024 * 1024,
  });
  h.grant("s1", 60_000);
  let id = 0;
  const open = async (kind: string, params: Record<string, unknown>) => {
    const channelId = ++id;
    await h.open({ channelId, sessionId: "s1", kind, params });
    const end = await until(
      `channel ${channelId} to end`,
      () =>
        messages.find((m) =>
          m.channelId === channelId && (m.type === "channel_close" || m.type === "channel_error")
        ),
    );
    return { end, events: messages.filter((m) => m.channelId === channelId) };
  };
  return {
    host: h,
    data,
    open,
    async error(kind: string, params: Record<string, unknown>): Promise<string> {
      const { end } = await open(kind, params);
      assert.equal(end.type, "channel_error", JSON.stringify(params));
      return (end as { message: string }).message;
    },
    async listing(path: string, roots: string[]) {
      const { end, events } = await open("file_list", { path, roots });
      assert.equal(end.type, "channel_close", JSON.stringify(end));
      const page = events.find((m) => m.type === "channel_event")!;
      const event = (page as { event: unknown }).event as {
        entries: { name: string }[];
        parent: string | null;
      };
      return { names: event.entries.map((e) => e.name), parent: event.parent };
    },
    async download(path: string, roots: string[]) {
      return await open("file_download", { path, roots });
    },
    async done() {
      h.closeAll("test over");
      await h.settled();
    },
  };
}

Deno.test("the agent's state folder, credential and key cannot be listed or downloaded, even inside a root", async () => {
  await withDevice(async ({ home, state, guard }) => {
    const h = host({ guard, uploadDir: join(home, "Downloads") });
    const roots = [home];
    const credential = credentialPath(state);
    const key = deviceKeyPath(state);
    assert.equal(await h.error("file_list", { path: state, roots }), `${state} ${OWN}`);
    assert.equal(
      await h.error("file_download", { path: credential, roots }),
      `${credential} ${OWN}`,
    );
    assert.equal(await h.error("file_download", { path: key, roots }), `${key} ${OWN}`);
    // A spelling the filesystem does not know is still the agent's.
    const shouted = join(home, ".config", "ASSENT-AGENT", "credential.json");
    assert.equal(await h.error("file_download", { path: shouted, roots }), `${shouted} ${OWN}`);
    // The folder holding the state folder lists without it.
    const config = await h.listing(join(home, ".config"), roots);
    assert.deepEqual(config.names, []);
    const top = await h.listing(home, roots);
    assert.deepEqual(top, { names: [".config", "Downloads", "notes.txt"], parent: null });
    assert.deepEqual(h.data, [], "not a byte of the agent's files left the agent");
    await h.done();
  });
});

Deno.test("symlinks, .. and hard links do not lead to the agent's own files", async () => {
  await withDevice(async ({ home, state, guard }) => {
    const h = host({ guard, uploadDir: join(home, "Downloads") });
    const roots = [home];
    await Deno.symlink(credentialPath(state), join(home, "Downloads", "cred.json"));
    await Deno.symlink(state, join(home, "state-link"));
    await Deno.link(deviceKeyPath(state), join(home, "Downloads", "copy.json"));
    const cases = [
      join(home, "Downloads", "cred.json"),
      join(home, "state-link", "credential.json"),
      `${home}/Downloads/../.config/assent-agent/credential.json`,
      join(home, "Downloads", "copy.json"),
    ];
    for (const path of cases) {
      assert.match(await h.error("file_download", { path, roots }), /belongs to the Assent agent/);
    }
    assert.match(
      await h.error("file_list", { path: join(home, "state-link"), roots }),
      /belongs to the Assent agent/,
    );
    // Links that lead to guarded places are not even shown.
    assert.deepEqual((await h.listing(join(home, "Downloads"), roots)).names, []);
    assert.deepEqual((await h.listing(home, roots)).names, [".config", "Downloads", "notes.txt"]);
    assert.deepEqual(h.data, []);
    await h.done();
  });
});

Deno.test("a file swapped for a link or another file between the check and the open is not read", async () => {
  await withDevice(async ({ home, state, guard }) => {
    const context = { roots: [home], browseRoot: null, guard, os: Deno.build.os };
    const path = join(home, "notes.txt");
    {
      using file = await Deno.open(path);
      assert.equal(await stillReached(file, path, context), true);
    }
    {
      using file = await Deno.open(path);
      await Deno.rename(path, join(home, "notes.old"));
      await Deno.symlink(credentialPath(state), path);
      assert.equal(await stillReached(file, path, context), false, "now a link");
      await Deno.remove(path);
      await Deno.writeTextFile(path, "another file");
      assert.equal(await stillReached(file, path, context), false, "now another file");
    }
    {
      // Opened through a link that was swapped in and out again: the opened file is the key.
      using file = await Deno.open(deviceKeyPath(state));
      assert.equal(await stillReached(file, deviceKeyPath(state), context), false);
    }
  });
});

Deno.test("paths outside the roots are refused, and a missing one there is not told apart", async () => {
  await withDevice(async ({ dir, home, guard }) => {
    const h = host({ guard, uploadDir: join(home, "Downloads") });
    const roots = [join(home, "Downloads")];
    for (const path of ["/etc/passwd", join(home, "notes.txt"), join(dir, "nothing")]) {
      assert.equal(await h.error("file_download", { path, roots }), `${path} ${OUTSIDE}`);
    }
    assert.equal(await h.error("file_list", { path: "/etc", roots }), `/etc ${OUTSIDE}`);
    assert.equal((await h.listing(join(home, "Downloads"), roots)).parent, null);
    await h.done();
  });
});

Deno.test("uploads into the agent's state folder or outside the roots are refused and write nothing", async () => {
  await withDevice(async ({ dir, home, state, guard }) => {
    const outside = join(dir, "outside");
    await Deno.mkdir(outside);
    const before = [...Deno.readDirSync(state)].map((e) => e.name).sort();
    const upload = (folder: string | undefined, roots: string[], name = "x.txt") => ({
      name,
      size: 1,
      sha256: "a".repeat(64),
      overwrite: true,
      ...(folder ? { folder } : {}),
      roots,
    });
    const h = host({ guard, uploadDir: join(home, "Downloads") });
    assert.equal(await h.error("file_upload", upload(state, [home])), `${state} ${OWN}`);
    assert.equal(await h.error("file_upload", upload(outside, [home])), `${outside} ${OUTSIDE}`);
    assert.equal(
      await h.error("file_upload", upload("/etc", [home], "passwd")),
      `/etc ${OUTSIDE}`,
    );
    // An upload folder set to the state folder by mistake takes nothing either.
    const misplaced = host({ guard, uploadDir: state });
    assert.equal(
      await misplaced.error("file_upload", upload(undefined, [state], "credential.json")),
      `${state} ${OWN}`,
    );
    assert.deepEqual([...Deno.readDirSync(state)].map((e) => e.name).sort(), before);
    assert.deepEqual([...Deno.readDirSync(outside)], []);
    await h.done();
    await misplaced.done();
  });
});

Deno.test("the agent creates upload folders only within its roots and refuses .., absolute or NUL names and links out", async () => {
  await withDevice(async ({ dir, home, state, guard }) => {
    const downloads = join(home, "Downloads");
    const outside = join(dir, "outside");
    await Deno.mkdir(outside);
    const roots = [downloads];
    const h = host({ guard, uploadDir: downloads });
    const refused = "That folder name is not allowed";
    for (const names of [["..", "outside"], ["a", ".."], ["/tmp"], [outside], ["a\0b"], [""]]) {
      assert.equal(await h.error("file_mkdir", { names, roots }), refused, JSON.stringify(names));
    }
    assert.equal(await h.error("file_mkdir", { names: [], roots }), "The folder path is not valid");
    assert.equal(
      await h.error("file_mkdir", { folder: dir, names: ["outside", "x"], roots }),
      `${dir} ${OUTSIDE}`,
    );
    assert.equal(
      await h.error("file_mkdir", {
        folder: home,
        names: [".config", "assent-agent", "x"],
        roots: [home],
      }),
      `${state} ${OWN}`,
    );
    // A link planted inside the root leads nowhere: nothing is made where it points.
    await Deno.symlink(outside, join(downloads, "link"));
    assert.equal(
      await h.error("file_mkdir", { names: ["link", "x"], roots }),
      `${join(downloads, "link")} ${OUTSIDE}`,
    );
    await Deno.writeTextFile(join(downloads, "file"), "");
    assert.equal(
      await h.error("file_mkdir", { names: ["file", "x"], roots }),
      'A file named "file" is in the way of the folder',
    );
    assert.deepEqual([...Deno.readDirSync(outside)], []);
    assert.ok(!(await Deno.stat(join(state, "x")).catch(() => null)));

    // Within the root, nested folders are made, and asking again is fine.
    for (let i = 0; i < 2; i++) {
      const { end, events } = await h.open("file_mkdir", { names: ["a", "b"], roots });
      assert.equal(end.type, "channel_close", JSON.stringify(end));
      const done = events.find((m) => m.type === "channel_event") as { event: unknown };
      assert.deepEqual(done.event, {
        type: "done",
        path: join(downloads, "a", "b"),
        created: i === 0,
      });
    }
    assert.ok((await Deno.stat(join(downloads, "a", "b"))).isDirectory);
    await h.done();
  });
});

Deno.test("the support app's key and the default state folders under any root are guarded", async () => {
  await withDevice(async ({ home }) => {
    const support = join(home, ".config", "assent-support");
    await Deno.mkdir(support, { recursive: true });
    await Deno.writeTextFile(supportKeyPath(support), "k".repeat(43));
    const own = agentGuard({ stateDir: support, files: [supportKeyPath(support)] });
    const app = host({ guard: own, uploadDir: join(home, "Downloads") });
    assert.match(
      await app.error("file_download", { path: supportKeyPath(support), roots: [home] }),
      /belongs to the Assent agent/,
    );
    // An agent elsewhere does not serve the support app's folder of any home either.
    const other = host({
      guard: agentGuard({ stateDir: "/var/lib/assent-agent", files: [] }),
      uploadDir: join(home, "Downloads"),
    });
    assert.match(
      await other.error("file_download", { path: supportKeyPath(support), roots: [home] }),
      /belongs to the Assent agent/,
    );
    await app.done();
    await other.done();
  });
});

Deno.test("agentGuard() covers the program's folder only when the agent could write there", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "assent-guard-" }));
  try {
    await Deno.mkdir(join(dir, "bin"));
    const guard = agentGuard({
      stateDir: join(dir, "state"),
      files: [join(dir, "state", "credential.json")],
      home: join(dir, "home"),
      programs: [join(dir, "bin", "assent"), join(dir, "missing", "assent"), "relative/assent"],
    });
    assert.ok(guard.paths.includes(join(dir, "state")));
    assert.ok(guard.paths.includes(join(dir, "bin")));
    assert.ok(guard.paths.includes(join(dir, "home", ".config", "assent-agent")));
    assert.ok(!guard.paths.includes(join(dir, "missing")));
    assert.deepEqual(guard.files, [join(dir, "state", "credential.json")]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transferFolders() reports the upload folder and the signed-in users' real homes", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "assent-folders-" }));
  try {
    for (const d of ["ann", "bob", "me", "Downloads"]) await Deno.mkdir(join(dir, d));
    await Deno.symlink(join(dir, "Downloads"), join(dir, "dl-link"));
    const homes: Record<string, string> = { ann: join(dir, "ann"), bob: join(dir, "bob") };
    const users = [
      { name: "bob", session: "tty1", locked: false },
      { name: "ann", session: ":0", locked: false },
      { name: "ann", session: "pts/1", locked: false },
      { name: "ghost", session: "tty2", locked: null },
    ];
    const found = await transferFolders({
      uploadDir: join(dir, "dl-link"),
      users,
      os: "linux",
      self: { name: "me", home: join(dir, "me"), system: false },
      homeOf: (user) => Promise.resolve(homes[user] ?? join(dir, "no-such-home")),
    });
    assert.deepEqual(found, {
      upload: join(dir, "Downloads"),
      homes: [
        { user: "ann", path: join(dir, "ann") },
        { user: "bob", path: join(dir, "bob") },
        { user: "me", path: join(dir, "me") },
      ],
    });
    const asRoot = await transferFolders({
      uploadDir: join(dir, "gone"),
      users: [],
      os: "linux",
      self: { name: "root", home: join(dir, "me"), system: true },
    });
    assert.deepEqual(asRoot, { upload: null, homes: [] }, "root's own home is not a user's");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "homeOf() reads the user database and refuses names that are paths",
  ignore: !linux,
  async fn() {
    assert.equal(await homeOf("root", "linux"), "/root");
    assert.equal(await homeOf("no-such-user-here", "linux"), null);
    for (const name of ["..", "../etc", "a/b", "", "x".repeat(65)]) {
      assert.equal(await homeOf(name, "linux"), null, name);
    }
    assert.equal(
      await homeOf("Ann", "windows"),
      `${Deno.env.get("SystemDrive") ?? "C:"}\\Users\\Ann`,
    );
  },
});

Deno.test("the device key is made once, kept 0600 and read back; a damaged one is an error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "assent-key-" });
  try {
    const state = join(dir, "state");
    const [a, b] = await Promise.all([loadOrCreateDeviceKey(state), loadOrCreateDeviceKey(state)]);
    assert.equal(a.publicKey, b.publicKey, "two first starts at once agree on one key");
    assert.equal((await loadOrCreateDeviceKey(state)).publicKey, a.publicKey);
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(deviceKeyPath(state))).mode! & 0o777, 0o600);
      assert.equal((await Deno.stat(state)).mode! & 0o777, 0o700);
    }
    assert.deepEqual([...Deno.readDirSync(state)].map((e) => e.name), ["device-key.json"]);
    await Deno.writeTextFile(deviceKeyPath(state), "{");
    await assert.rejects(loadOrCreateDeviceKey(state), /is damaged/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("windowsStateDirAcl() keeps the state folder to SYSTEM, Administrators and the agent's user", () => {
  assert.deepEqual(windowsStateDirAcl("C:\\ProgramData\\Assent\\agent", "ann"), [
    "C:\\ProgramData\\Assent\\agent",
    "/inheritance:r",
    "/grant:r",
    "*S-1-5-18:(OI)(CI)F",
    "/grant:r",
    "*S-1-5-32-544:(OI)(CI)F",
    "/grant:r",
    "ann:(OI)(CI)F",
  ]);
  assert.equal(
    windowsStateDirAcl("C:\\x", "WORKSTATION$").length,
    6,
    "SYSTEM needs no extra grant",
  );
  assert.equal(windowsStateDirAcl("C:\\x", "evil:(F)").length, 6);
  assert.equal(windowsStateDirAcl("C:\\x", null).length, 6);
});
