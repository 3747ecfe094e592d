import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { FakeClock } from "../lib/clock.ts";
import { type AgentMessage, decodeChannelFrame, LIMITS } from "../protocol/messages.ts";
import { until, untilQuiet } from "../tests/support/wait.ts";
import {
  ChannelHost,
  type ChannelHostOptions,
  EXTRA_WINDOW,
  INITIAL_WINDOW,
  MAX_FRAME_PAYLOAD,
} from "./channels.ts";
import { checkFileName, type ListingEntry, listingPages } from "./files.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const linux = Deno.build.os === "linux";
const root = linux && Deno.uid() === 0;

type Sent = Extract<AgentMessage, { channelId: number }>;

/**
 * A host whose server side is a recorder; `until` polls what it sent. Leases and the grace
 * period run on `clock`, which moves only when a test says so. Shells get a HOME of their own,
 * so a login shell reads none of this machine's dotfiles. Like the server, it sends `roots`
 * (by default the upload folder) with every file channel that does not name its own.
 */
function harness(overrides: Partial<ChannelHostOptions> & { roots?: string[] } = {}) {
  const messages: Sent[] = [];
  const frames: { channelId: number; payload: Uint8Array }[] = [];
  const logs: string[] = [];
  const clock = new FakeClock();
  const home = Deno.makeTempDirSync({ prefix: "assent-channels-home-" });
  const { roots, ...options } = overrides;
  const host = new ChannelHost({
    send: (message) => messages.push(message as Sent),
    // The host reuses a frame's buffer once this returns, as a socket copies what it sends.
    sendBinary: (frame) => frames.push(decodeChannelFrame(frame.slice())!),
    log: (line) => logs.push(line),
    uploadDir: "/nonexistent",
    browseRoot: null,
    guard: { paths: [], files: [] },
    vnc: { hostname: "127.0.0.1", port: 1 },
    maxTransferBytes: 64 * MiB,
    clock,
    shellEnvironment: { HOME: home },
    ...options,
  });
  const sent = roots ?? [overrides.uploadDir ?? "/nonexistent"];
  const open = host.open.bind(host);
  host.open = (message) =>
    open(
      message.kind.startsWith("file_") && !("roots" in message.params)
        ? { ...message, params: { ...message.params, roots: sent } }
        : message,
    );
  const of = (channelId: number) => messages.filter((m) => m.channelId === channelId);
  const bytes = (channelId: number) => {
    const mine = frames.filter((f) => f.channelId === channelId);
    const all = new Uint8Array(mine.reduce((n, f) => n + f.payload.byteLength, 0));
    let offset = 0;
    for (const f of mine) {
      all.set(f.payload, offset);
      offset += f.payload.byteLength;
    }
    return all;
  };
  return {
    host,
    clock,
    home,
    messages,
    frames,
    logs,
    of,
    bytes,
    text: (channelId: number) => decoder.decode(bytes(channelId)),
    events: (channelId: number, type: string) =>
      of(channelId).flatMap((m) =>
        m.type === "channel_event" && m.event.type === type ? [m.event] : []
      ),
    ending: (channelId: number) =>
      of(channelId).find((m) => m.type === "channel_close" || m.type === "channel_error"),
    type: (channelId: number, text: string) => host.data(channelId, encoder.encode(text)),
    /** Moves the clock on by `ms` while the server keeps talking, once a second. */
    talk(ms: number) {
      for (let left = ms; left > 0; left -= 1_000) {
        clock.advance(Math.min(1_000, left));
        host.serverActivity();
      }
    },
    async done() {
      host.closeAll("test over");
      await host.settled();
      await Deno.remove(home, { recursive: true });
    },
  };
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

function randomBytes(n: number): Uint8Array {
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  return data;
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "assent-channels-" }));
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

function processGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
  } catch {
    return true;
  }
}

async function whoAmI(): Promise<string> {
  const out = await new Deno.Command("id", { args: ["-un"], stderr: "null" }).output();
  return decoder.decode(out.stdout).trim();
}

const terminal = (channelId: number, sessionId = "s1", params: Record<string, unknown> = {}) => ({
  channelId,
  sessionId,
  kind: "terminal",
  params: { cols: 80, rows: 24, asUser: null, ...params },
});

/** Opens a terminal and waits for its prompt to be usable; returns the shell's pid. */
async function openShell(
  h: ReturnType<typeof harness>,
  channelId: number,
  sessionId = "s1",
): Promise<number> {
  await h.host.open(terminal(channelId, sessionId));
  h.type(channelId, "echo pid=$$\n");
  await until("the shell pid", () => /pid=\d+/.test(h.text(channelId)));
  return Number(h.text(channelId).match(/pid=(\d+)/)![1]);
}

// Terminal -------------------------------------------------------------------------------

Deno.test({
  name: "a terminal runs a shell in a pty: typed commands run and their output comes back",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(7));
    assert.equal(h.of(7)[0]?.type, "channel_opened");
    const info = h.events(7, "info")[0]!;
    assert.equal(info.pty, true);
    assert.equal(info.user, await whoAmI());
    assert.equal(info.note, undefined);
    assert.match(String(info.shell), /^\//);
    h.type(7, "echo hello-$((6*7))\n");
    await until("hello-42", () => h.text(7).includes("hello-42"));
    h.type(7, "tty\n");
    await until("the tty name", () => /\/dev\/pts\/\d+/.test(h.text(7)));
    // The host's owner chose the shell's HOME: it starts there and reads its dotfiles there.
    h.type(7, 'echo "home=$HOME pwd=$(pwd)"\n');
    const home = await Deno.realPath(h.home);
    await until("the home folder", () => h.text(7).includes(`home=${h.home} pwd=${home}`));
    assert.equal(h.host.openCount, 1);
    await h.done();
    assert.equal(h.host.openCount, 0);
  },
});

Deno.test({
  name: "a terminal starts at the requested size and follows resize events",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(1, "s1", { cols: 91, rows: 33 }));
    h.type(1, "stty size\n");
    await until("the initial size", () => h.text(1).includes("33 91"));
    h.host.event(1, { type: "resize", cols: 120, rows: 40 });
    h.host.event(1, { type: "resize", cols: 9999, rows: 40 }); // out of range: ignored
    await until("the new size", () => {
      h.type(1, "stty size\n");
      return h.text(1).includes("40 120");
    });
    assert.ok(h.logs.some((line) => line.includes("ignored a terminal resize to 9999x40")));
    await h.done();
  },
});

Deno.test({
  name: "a terminal refuses sizes out of range and user names that are not names",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(1, "s1", { cols: 1 }));
    await h.host.open(terminal(2, "s1", { rows: "24" }));
    await h.host.open(terminal(3, "s1", { asUser: "root; reboot" }));
    await h.host.open(terminal(4, "s1", { asUser: "-rf" }));
    for (const id of [1, 2]) {
      assert.match(String((h.ending(id) as { message: string }).message), /terminal size must be/);
    }
    for (const id of [3, 4]) {
      assert.deepEqual(h.of(id), [
        { type: "channel_error", channelId: id, message: "That user name is not allowed" },
      ]);
    }
    assert.equal(h.host.openCount, 0);
    await h.done();
  },
});

Deno.test({
  name: "a terminal for another user runs as the agent's user, with a note, when it cannot switch",
  ignore: !linux,
  async fn() {
    const h = harness({ switchUsers: false });
    const self = await whoAmI();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(1, "s1", { asUser: "somebody_else" }));
    const info = h.events(1, "info")[0]!;
    assert.equal(info.user, self);
    assert.equal(info.note, `The agent cannot switch users, so the shell runs as ${self}`);
    h.type(1, "echo me=$(id -un)\n");
    await until("the user name", () => h.text(1).includes(`me=${self}`));
    await h.done();
  },
});

Deno.test({
  name: "a terminal as root runs the shell as the requested user",
  ignore: !root,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    // nobody's login shell is nologin: proof that it ran as nobody, through nobody's own shell.
    await h.host.open(terminal(1, "s1", { asUser: "nobody" }));
    const info = h.events(1, "info")[0]!;
    assert.equal(info.user, "nobody");
    assert.equal(info.note, undefined);
    assert.match(String(info.shell), /nologin|false/);
    await until("the shell to end", () => h.ending(1) !== undefined);
    assert.match(h.text(1), /not available/);
    assert.deepEqual(h.ending(1), {
      type: "channel_close",
      channelId: 1,
      reason: "The shell exited",
    });
    await h.host.open(terminal(2, "s1", { asUser: "no_such_user_42" }));
    assert.deepEqual(h.ending(2), {
      type: "channel_error",
      channelId: 2,
      message: 'There is no user named "no_such_user_42" on this device',
    });
    await h.done();
  },
});

Deno.test({
  name: "a terminal whose shell exits closes with 'The shell exited'",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(5));
    h.type(5, "echo bye-$((1+1)); exit 3\n");
    await until("the close", () => h.ending(5) !== undefined);
    assert.ok(h.text(5).includes("bye-2"));
    assert.deepEqual(h.ending(5), {
      type: "channel_close",
      channelId: 5,
      reason: "The shell exited",
    });
    assert.equal(h.host.openCount, 0);
    await h.done();
  },
});

Deno.test({
  name: "terminal output stops at the credit window and resumes with credit",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    await h.host.open(terminal(1));
    h.type(1, "head -c 3000000 /dev/zero | tr '\\0' x; echo; echo END-$((2*21))\n");
    await until("the window to fill", () => h.bytes(1).byteLength >= INITIAL_WINDOW);
    assert.equal(
      await untilQuiet("the terminal output", () => h.bytes(1).byteLength),
      INITIAL_WINDOW,
    );
    h.host.credit(1, 4 * MiB);
    await until("the rest", () => h.text(1).includes("END-42"));
    assert.ok(h.frames.every((f) => f.payload.byteLength <= MAX_FRAME_PAYLOAD));
    await h.done();
  },
});

Deno.test({
  name: "closing a terminal also ends jobs that ignore the hangup",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    const shell = await openShell(h, 1);
    // Ignored signals are inherited: only the session sweep's SIGKILL can end this sleep.
    h.type(1, "trap '' HUP TERM; sleep 1000 & echo bg=$!\n");
    await until("the job pid", () => /bg=\d+/.test(h.text(1)));
    const job = Number(h.text(1).match(/bg=(\d+)/)![1]);
    assert.equal(processGone(job), false);
    h.host.close(1, "Technician left");
    assert.equal(h.host.openCount, 0);
    await h.host.settled();
    assert.ok(processGone(shell), `shell ${shell} still runs`);
    assert.ok(processGone(job), `job ${job} still runs`);
    assert.equal(h.ending(1), undefined, "a close the server asked for is not answered");
    await h.done();
  },
});

// Authorization ---------------------------------------------------------------------------

Deno.test("a channel for a session without a lease is refused and nothing opens", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir });
    const list = (channelId: number, sessionId: string) =>
      h.host.open({ channelId, sessionId, kind: "file_list", params: { path: null } });
    const refused = (channelId: number) => ({
      type: "channel_error",
      channelId,
      message: "This session is not authorized on this device",
    });
    await list(1, "never-granted");
    assert.deepEqual(h.of(1), [refused(1)]);

    h.host.grant("s1", 60_000);
    await list(2, "s1");
    assert.equal(h.of(2)[0]?.type, "channel_opened");
    h.host.revoke("s1", "Deauthorized");
    await list(3, "s1");
    assert.deepEqual(h.of(3), [refused(3)]);

    const timed = harness({ uploadDir: dir });
    timed.host.grant("s2", 5_000);
    timed.clock.advance(5_000);
    await timed.host.open({ channelId: 4, sessionId: "s2", kind: "file_list", params: {} });
    assert.deepEqual(timed.of(4), [refused(4)]);
    assert.equal(h.host.openCount + timed.host.openCount, 0);
    await h.done();
    await timed.done();
  });
});

Deno.test({
  name: "a lease running out closes the session's terminal by itself and kills the shell",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("s1", 60_000);
    const pid = await openShell(h, 1);
    assert.equal(processGone(pid), false);
    // A new grant replaces the deadline, later or sooner.
    h.talk(50_000);
    h.host.grant("s1", 60_000);
    h.talk(59_000);
    assert.equal(h.ending(1), undefined, "the first deadline no longer counts");
    h.host.grant("s1", 5_000);
    h.talk(4_999);
    assert.equal(h.ending(1), undefined);
    h.talk(1);
    assert.deepEqual(h.ending(1), { type: "channel_close", channelId: 1, reason: "expired" });
    assert.equal(h.host.openCount, 0);
    await h.host.settled();
    assert.ok(processGone(pid), `shell ${pid} still runs`);
    assert.deepEqual(h.logs.at(-1), "session s1: ended 1 channel(s) (expired)");
    await h.done();
  },
});

Deno.test({
  name: "revoke closes every channel of that session at once and no other",
  ignore: !linux,
  async fn() {
    const h = harness();
    h.host.grant("a", 60_000);
    h.host.grant("b", 60_000);
    const a1 = await openShell(h, 1, "a");
    const a2 = await openShell(h, 2, "a");
    const b = await openShell(h, 3, "b");
    h.host.revoke("a", "Deauthorized by alice");
    for (const id of [1, 2]) {
      assert.deepEqual(h.ending(id), {
        type: "channel_close",
        channelId: id,
        reason: "Deauthorized by alice",
      });
    }
    assert.equal(h.ending(3), undefined);
    assert.equal(h.host.openCount, 1);
    await h.host.settled();
    assert.ok(processGone(a1) && processGone(a2));
    assert.equal(processGone(b), false);
    h.type(3, "echo still-$((3*3))\n");
    await until("session b to answer", () => h.text(3).includes("still-9"));
    await h.done();
    assert.ok(processGone(b));
  },
});

Deno.test({
  name: "channels close when the server is silent for the grace period, not while it talks",
  ignore: !linux,
  async fn() {
    const h = harness({ graceMs: 10_000 });
    h.host.grant("s1", 3_600_000);
    const pid = await openShell(h, 1);
    h.talk(60_000);
    assert.equal(h.ending(1), undefined);
    h.clock.advance(9_999);
    assert.equal(h.ending(1), undefined);
    h.clock.advance(1);
    assert.deepEqual(h.ending(1), {
      type: "channel_close",
      channelId: 1,
      reason: "Cut off from the server",
    });
    assert.ok(
      h.logs.includes("cut off from the server for 10 s: ended 1 channel(s)"),
      h.logs.join("\n"),
    );
    await h.host.settled();
    assert.ok(processGone(pid));
    await h.done();
  },
});

// Downloads -------------------------------------------------------------------------------

Deno.test("a download stops at the credit window, continues with credit, and matches", async () => {
  await withTempDir(async (dir) => {
    const content = randomBytes(3 * MiB + 123);
    await Deno.writeFile(join(dir, "big.bin"), content);
    const h = harness({ roots: [dir] });
    h.host.grant("s1", 60_000);
    await h.host.open({
      channelId: 9,
      sessionId: "s1",
      kind: "file_download",
      params: { path: join(dir, "big.bin") },
    });
    assert.equal(h.of(9)[0]?.type, "channel_opened");
    assert.deepEqual(h.events(9, "meta"), [{
      type: "meta",
      name: "big.bin",
      size: content.length,
    }]);
    await until("the window to fill", () => h.bytes(9).byteLength >= INITIAL_WINDOW);
    const download = () => h.bytes(9).byteLength;
    assert.equal(await untilQuiet("the download", download, { quietMs: 200 }), INITIAL_WINDOW);
    assert.equal(h.ending(9), undefined);

    h.host.credit(9, 1 * MiB);
    await until("the second window", () => h.bytes(9).byteLength >= 2 * MiB);
    assert.equal(await untilQuiet("the download", download, { quietMs: 200 }), 2 * MiB);
    h.host.credit(9, 2 * MiB);
    await until("the end", () => h.ending(9) !== undefined);

    assert.deepEqual(h.bytes(9), content);
    assert.ok(h.frames.every((f) => f.payload.byteLength <= MAX_FRAME_PAYLOAD));
    assert.deepEqual(h.events(9, "done"), [
      { type: "done", size: content.length, sha256: sha256(content) },
    ]);
    assert.deepEqual(h.ending(9), { type: "channel_close", channelId: 9, reason: "completed" });
    await h.done();
  });
});

Deno.test("a download moves in as few frames as the protocol allows, each with its own bytes", async () => {
  await withTempDir(async (dir) => {
    const content = randomBytes(MiB + 5);
    await Deno.writeFile(join(dir, "big.bin"), content);
    const h = harness({ roots: [dir] });
    h.host.grant("s1", 60_000);
    await h.host.open({
      channelId: 3,
      sessionId: "s1",
      kind: "file_download",
      params: { path: join(dir, "big.bin") },
    });
    h.host.credit(3, 4 * MiB);
    await until("the end", () => h.ending(3) !== undefined);
    // Fewer frames are fewer reads, sends and wake-ups at both ends of a bulk transfer.
    const largest = LIMITS.binaryFrame - 4;
    assert.deepEqual(
      h.frames.filter((f) => f.channelId === 3).map((f) => f.payload.byteLength),
      [largest, largest, largest, largest, 5],
    );
    // Every frame is read into the same buffer: what went out is what was read, frame by frame.
    assert.deepEqual(h.bytes(3), content);
    await h.done();
  });
});

Deno.test("a download of a missing file, a folder or a relative path is refused in plain words", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ roots: [dir] });
    h.host.grant("s1", 60_000);
    const download = (channelId: number, path: unknown) =>
      h.host.open({ channelId, sessionId: "s1", kind: "file_download", params: { path } });
    await download(1, join(dir, "missing.txt"));
    await download(2, dir);
    await download(3, "relative/file.txt");
    await download(4, 42);
    const messages = [1, 2, 3, 4].map((id) => {
      assert.equal(h.of(id).length, 1);
      return (h.ending(id) as { message: string }).message;
    });
    assert.deepEqual(messages, [
      `There is no file at ${join(dir, "missing.txt")}`,
      `${dir} is a folder`,
      "relative/file.txt is not an absolute path",
      "The path is not valid",
    ]);
    await h.done();
  });
});

Deno.test("a download larger than the limit is refused", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeFile(join(dir, "a.bin"), new Uint8Array(2 * MiB + 1));
    const h = harness({ maxTransferBytes: 2 * MiB, roots: [dir] });
    h.host.grant("s1", 60_000);
    await h.host.open({
      channelId: 1,
      sessionId: "s1",
      kind: "file_download",
      params: { path: join(dir, "a.bin") },
    });
    assert.deepEqual(h.of(1), [
      { type: "channel_error", channelId: 1, message: "The file is larger than the 2 MiB limit" },
    ]);
    await h.done();
  });
});

Deno.test("downloads stay inside the roots, also through symlinks and ..", async () => {
  await withTempDir(async (dir) => {
    const shared = join(dir, "shared");
    await Deno.mkdir(shared);
    await Deno.writeTextFile(join(shared, "ok.txt"), "fine");
    await Deno.writeTextFile(join(dir, "secret.txt"), "secret");
    await Deno.symlink(join(dir, "secret.txt"), join(shared, "escape.txt"));
    await Deno.symlink(join(shared, "ok.txt"), join(dir, "inward.txt"));
    const h = harness({ roots: [shared] });
    h.host.grant("s1", 60_000);
    const download = (channelId: number, path: string) =>
      h.host.open({ channelId, sessionId: "s1", kind: "file_download", params: { path } });
    await download(1, join(dir, "secret.txt"));
    await download(2, join(shared, "escape.txt"));
    await download(3, `${shared}/../secret.txt`);
    await download(5, "/etc/passwd");
    for (
      const [id, path] of [
        [1, join(dir, "secret.txt")],
        [2, join(shared, "escape.txt")],
        [3, join(dir, "secret.txt")],
        [5, "/etc/passwd"],
      ] as const
    ) {
      assert.deepEqual(h.of(id), [{
        type: "channel_error",
        channelId: id,
        message: `${path} is outside what file transfer may reach on this device`,
      }]);
    }
    // A link from outside to a file inside is judged by where it leads.
    await download(4, join(dir, "inward.txt"));
    await until("the download", () => h.ending(4) !== undefined);
    assert.equal(h.text(4), "fine");
    await h.done();
  });
});

Deno.test("the owner's browse root narrows the roots the server sends", async () => {
  await withTempDir(async (dir) => {
    const shared = join(dir, "shared");
    await Deno.mkdir(shared);
    await Deno.writeTextFile(join(shared, "ok.txt"), "fine");
    await Deno.writeTextFile(join(dir, "other.txt"), "not shared by the owner");
    const h = harness({ roots: [dir], browseRoot: shared });
    h.host.grant("s1", 60_000);
    const download = (channelId: number, path: string) =>
      h.host.open({ channelId, sessionId: "s1", kind: "file_download", params: { path } });
    await download(1, join(dir, "other.txt"));
    assert.equal(h.ending(1)?.type, "channel_error");
    assert.match((h.ending(1) as { message: string }).message, /is outside what file transfer/);
    await download(2, join(shared, "ok.txt"));
    await until("the download", () => h.ending(2) !== undefined);
    assert.equal(h.text(2), "fine");
    await h.done();
  });
});

Deno.test("a file channel without roots from the server reaches nothing", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "a.txt"), "a");
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const message = "The server did not say what file transfer may reach on this device";
    await h.host.open({
      channelId: 1,
      sessionId: "s1",
      kind: "file_download",
      params: { path: join(dir, "a.txt"), roots: null },
    });
    await h.host.open({
      channelId: 2,
      sessionId: "s1",
      kind: "file_list",
      params: { path: dir, roots: "everything" },
    });
    assert.deepEqual(h.of(1), [{ type: "channel_error", channelId: 1, message }]);
    assert.deepEqual(h.of(2), [{ type: "channel_error", channelId: 2, message }]);
    await h.done();
  });
});

// Uploads ---------------------------------------------------------------------------------

/** Plays the server: sends `data` in 64 KiB frames, never more than the agent has credited. */
async function sendWithinCredit(
  h: ReturnType<typeof harness>,
  channelId: number,
  data: Uint8Array,
) {
  let sent = 0;
  const credited = () =>
    INITIAL_WINDOW +
    h.of(channelId).reduce((n, m) => n + (m.type === "channel_credit" ? m.bytes : 0), 0);
  while (sent < data.byteLength) {
    const n = Math.min(MAX_FRAME_PAYLOAD, data.byteLength - sent);
    await until("credit", () => sent + n <= credited() || h.ending(channelId) !== undefined);
    if (h.ending(channelId)) return;
    h.host.data(channelId, data.subarray(sent, sent + n));
    sent += n;
  }
}

const upload = (channelId: number, params: Record<string, unknown>) => ({
  channelId,
  sessionId: "s1",
  kind: "file_upload",
  params: { overwrite: false, ...params },
});

Deno.test("an upload arrives whole, is checked and renamed, and leaves no partial file", async () => {
  await withTempDir(async (dir) => {
    const content = randomBytes(5 * MiB);
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    await h.host.open(
      upload(3, { name: "report.pdf", size: content.length, sha256: sha256(content) }),
    );
    assert.deepEqual(h.of(3), [
      { type: "channel_opened", channelId: 3 },
      { type: "channel_credit", channelId: 3, bytes: EXTRA_WINDOW },
    ], "a bulk channel grants its deeper window at once");
    await sendWithinCredit(h, 3, content);
    await until("the upload to finish", () => h.ending(3) !== undefined);
    assert.deepEqual(h.events(3, "done"), [{
      type: "done",
      path: join(dir, "report.pdf"),
      size: content.length,
      sha256: sha256(content),
    }]);
    assert.deepEqual(h.ending(3), { type: "channel_close", channelId: 3, reason: "completed" });
    assert.ok(h.of(3).some((m) => m.type === "channel_credit"), "no credit was granted");
    assert.deepEqual(await Deno.readFile(join(dir, "report.pdf")), content);
    await h.done();
    assert.deepEqual(await names(dir), ["report.pdf"]);
  });
});

Deno.test("an empty upload completes at once", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const empty = sha256(new Uint8Array(0));
    await h.host.open(upload(1, { name: "empty.txt", size: 0, sha256: empty }));
    await until("the end", () => h.ending(1) !== undefined);
    assert.deepEqual(h.ending(1), { type: "channel_close", channelId: 1, reason: "completed" });
    assert.equal((await Deno.stat(join(dir, "empty.txt"))).size, 0);
    await h.done();
  });
});

Deno.test("an upload with the wrong checksum is deleted and reported damaged", async () => {
  await withTempDir(async (dir) => {
    const content = randomBytes(300_000);
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    await h.host.open(upload(1, { name: "a.bin", size: content.length, sha256: "0".repeat(64) }));
    await sendWithinCredit(h, 1, content);
    await until("the end", () => h.ending(1) !== undefined);
    assert.deepEqual(h.ending(1), {
      type: "channel_error",
      channelId: 1,
      message: "The file arrived damaged (SHA-256 mismatch)",
    });
    await h.host.settled();
    assert.deepEqual(await names(dir), []);
    await h.done();
  });
});

Deno.test("upload names that are paths, dots, control characters or too long are refused", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const bad = ["../evil", "a/b", ".", "..", "", "a\\b", "bell\x07", "nul\0", "é".repeat(128), 7];
    let id = 0;
    for (const name of bad) {
      await h.host.open(upload(++id, { name, size: 1, sha256: "a".repeat(64) }));
      assert.deepEqual(
        h.of(id),
        [{ type: "channel_error", channelId: id, message: "That file name is not allowed" }],
        `name ${JSON.stringify(name)}`,
      );
    }
    assert.equal(checkFileName("é".repeat(127), "linux"), "é".repeat(127));
    assert.equal(checkFileName("..hidden", "linux"), "..hidden");
    assert.throws(() => checkFileName("con.txt", "windows"), /not allowed/);
    assert.throws(() => checkFileName("a:b", "windows"), /not allowed/);
    assert.deepEqual(await names(dir), []);
    await h.done();
  });
});

Deno.test("an upload refuses bad sizes and checksums before creating anything", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir, maxTransferBytes: 10 * MiB });
    h.host.grant("s1", 60_000);
    const cases: [Record<string, unknown>, string][] = [
      [{ size: 10 * MiB + 1, sha256: "a".repeat(64) }, "The file is larger than the 10 MiB limit"],
      [{ size: -1, sha256: "a".repeat(64) }, "The file size is not valid"],
      [{ size: 1.5, sha256: "a".repeat(64) }, "The file size is not valid"],
      [{ size: 1, sha256: "xyz" }, "The SHA-256 checksum is not valid"],
      [{ size: 1, sha256: "a".repeat(64), overwrite: "yes" }, "The overwrite flag is not valid"],
    ];
    let id = 0;
    for (const [params, message] of cases) {
      await h.host.open(upload(++id, { name: "f.txt", ...params }));
      assert.deepEqual(h.of(id), [{ type: "channel_error", channelId: id, message }]);
    }
    assert.deepEqual(await names(dir), []);
    await h.done();
  });
});

Deno.test("an upload over an existing file needs overwrite, and then replaces it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "notes.txt"), "old");
    const content = encoder.encode("new content");
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const params = { name: "notes.txt", size: content.length, sha256: sha256(content) };
    await h.host.open(upload(1, params));
    assert.deepEqual(h.of(1), [{
      type: "channel_error",
      channelId: 1,
      message: 'A file named "notes.txt" already exists',
    }]);
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "old");

    await h.host.open(upload(2, { ...params, overwrite: true }));
    h.host.data(2, content);
    await until("the end", () => h.ending(2) !== undefined);
    assert.deepEqual(h.ending(2), { type: "channel_close", channelId: 2, reason: "completed" });
    assert.equal(await Deno.readTextFile(join(dir, "notes.txt")), "new content");
    await h.done();
    assert.deepEqual(await names(dir), ["notes.txt"]);
  });
});

Deno.test("an upload closed midway, revoked or cut off leaves no partial file", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const content = randomBytes(MiB);
    const params = { name: "half.bin", size: content.length, sha256: sha256(content) };
    const partialWritten = async () => {
      await until("the partial file", () => {
        const partial = [...Deno.readDirSync(dir)].find((e) => e.name.includes("assent-partial"));
        return partial !== undefined && Deno.statSync(join(dir, partial.name)).size >= 100_000;
      });
    };

    await h.host.open(upload(1, params));
    h.host.data(1, content.subarray(0, 100_000));
    await partialWritten();
    assert.deepEqual(await names(dir), [".half.bin.assent-partial-1"]);
    h.host.close(1, "Cancelled by the technician");
    await h.host.settled();
    assert.deepEqual(await names(dir), []);

    await h.host.open(upload(2, params));
    h.host.data(2, content.subarray(0, 100_000));
    await partialWritten();
    h.host.revoke("s1", "Deauthorized");
    await h.host.settled();
    assert.deepEqual(await names(dir), []);

    h.host.grant("s1", 60_000);
    await h.host.open(upload(3, params));
    h.host.data(3, content.subarray(0, 100_000));
    await partialWritten();
    h.host.closeAll("Connection lost");
    await h.host.settled();
    assert.deepEqual(await names(dir), []);
    assert.equal(h.host.openCount, 0);
    await h.done();
  });
});

Deno.test("an upload longer than announced, or beyond the window, fails and leaves nothing", async () => {
  await withTempDir(async (dir) => {
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    const ten = encoder.encode("0123456789");
    await h.host.open(upload(1, { name: "ten.txt", size: 10, sha256: sha256(ten) }));
    h.host.data(1, encoder.encode("0123456789abcdefghij"));
    await until("the error", () => h.ending(1) !== undefined);
    assert.deepEqual(h.ending(1), {
      type: "channel_error",
      channelId: 1,
      message: "The file is larger than the 10 bytes announced",
    });

    const big = randomBytes(INITIAL_WINDOW + EXTRA_WINDOW + MiB);
    await h.host.open(upload(2, { name: "big.bin", size: big.length, sha256: sha256(big) }));
    for (let i = 0; i < big.length; i += MAX_FRAME_PAYLOAD) {
      h.host.data(2, big.subarray(i, i + MAX_FRAME_PAYLOAD)); // ignoring credit
    }
    assert.deepEqual(h.ending(2), {
      type: "channel_error",
      channelId: 2,
      message: "The server sent more data than the flow-control window allows",
    });
    await h.host.settled();
    assert.deepEqual(await names(dir), []);
    await h.done();
  });
});

// Listings --------------------------------------------------------------------------------

Deno.test("a listing puts folders first, then names, with sizes, times and the parent", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(join(dir, "b-folder"));
    await Deno.mkdir(join(dir, "A-folder"));
    await Deno.writeTextFile(join(dir, "c.bin"), "0123456789");
    await Deno.writeTextFile(join(dir, "a.txt"), "abc");
    await Deno.symlink(join(dir, "a.txt"), join(dir, "link"));
    const h = harness({ uploadDir: dir, roots: [dirname(dir)] });
    h.host.grant("s1", 60_000);
    await h.host.open({ channelId: 4, sessionId: "s1", kind: "file_list", params: { path: dir } });
    assert.equal(h.of(4)[0]?.type, "channel_opened");
    const listing = h.events(4, "listing");
    assert.equal(listing.length, 1);
    const { path, parent, more, truncated } = listing[0]!;
    const entries = listing[0]!.entries as ListingEntry[];
    assert.deepEqual({ path, parent, more, truncated }, {
      path: dir,
      parent: join(dir, ".."),
      more: false,
      truncated: undefined,
    });
    assert.deepEqual(entries.map((e) => [e.name, e.kind, e.size]), [
      ["A-folder", "dir", null],
      ["b-folder", "dir", null],
      ["a.txt", "file", 3],
      ["c.bin", "file", 10],
      ["link", "link", null],
    ]);
    const now = Date.now();
    assert.ok(entries.every((e) => typeof e.modified === "number" && now - e.modified < 60_000));
    assert.deepEqual(h.ending(4), { type: "channel_close", channelId: 4, reason: "completed" });

    // No path: the upload folder.
    await h.host.open({ channelId: 5, sessionId: "s1", kind: "file_list", params: { path: null } });
    assert.equal(h.events(5, "listing")[0]?.path, dir);
    await h.done();
  });
});

Deno.test("a listing stays inside the roots, whose tops have no parent", async () => {
  await withTempDir(async (dir) => {
    const shared = join(dir, "shared");
    await Deno.mkdir(join(shared, "sub"), { recursive: true });
    await Deno.symlink(dir, join(shared, "up"));
    const h = harness({ uploadDir: shared, roots: [shared] });
    h.host.grant("s1", 60_000);
    const list = (channelId: number, path: string | null) =>
      h.host.open({ channelId, sessionId: "s1", kind: "file_list", params: { path } });
    await list(1, shared);
    assert.equal(h.events(1, "listing")[0]?.parent, null);
    await list(2, join(shared, "sub"));
    assert.equal(h.events(2, "listing")[0]?.parent, shared);
    await list(3, dir);
    await list(4, join(shared, "up"));
    await list(5, join(dir, "nothing-here"));
    await list(6, `${shared}/sub/../..`);
    await list(7, join(shared, "nothing-here"));
    const outside = (id: number, path: string) => ({
      type: "channel_error",
      channelId: id,
      message: `${path} is outside what file transfer may reach on this device`,
    });
    assert.deepEqual(h.of(3), [outside(3, dir)]);
    assert.deepEqual(h.of(4), [outside(4, join(shared, "up"))]);
    // Outside the roots, a missing folder is not told apart from an existing one.
    assert.deepEqual(h.of(5), [outside(5, join(dir, "nothing-here"))]);
    assert.deepEqual(h.of(6), [outside(6, dir)]);
    assert.deepEqual(h.ending(7), {
      type: "channel_error",
      channelId: 7,
      message: `There is no folder at ${join(shared, "nothing-here")}`,
    });
    await h.done();
  });
});

Deno.test("a listing of a crowded folder stops at 2000 entries, sent in pages", async () => {
  await withTempDir(async (dir) => {
    for (let i = 0; i < 2100; i++) {
      await Deno.writeTextFile(
        join(dir, `file-${String(i).padStart(4, "0")}-${"n".repeat(40)}`),
        "",
      );
    }
    await Deno.mkdir(join(dir, "zz-folder"));
    const h = harness({ uploadDir: dir });
    h.host.grant("s1", 60_000);
    await h.host.open({ channelId: 1, sessionId: "s1", kind: "file_list", params: { path: dir } });
    const pages = h.events(1, "listing");
    assert.ok(pages.length > 1, "one page cannot hold 2000 entries within 64 KiB");
    const entries = pages.flatMap((p) => p.entries as ListingEntry[]);
    assert.equal(entries.length, 2000);
    assert.deepEqual(entries[0]?.name, "zz-folder");
    assert.ok(pages.every((p) => p.truncated === true && p.path === dir));
    assert.deepEqual(pages.map((p) => p.more), [...pages.slice(1).map(() => true), false]);
    for (const m of h.of(1)) assert.ok(JSON.stringify(m).length < 64 * 1024);
    assert.deepEqual(h.ending(1), { type: "channel_close", channelId: 1, reason: "completed" });
    await h.done();
  });
});

Deno.test("listingPages() splits a large listing into events that fit a control frame", () => {
  const entries: ListingEntry[] = Array.from({ length: 2000 }, (_, i) => ({
    name: `${String(i).padStart(4, "0")}-${"x".repeat(200)}`,
    kind: "file",
    size: i,
    modified: 1_763_719_200_000,
  }));
  const pages = listingPages({ path: "/data", parent: "/", truncated: true }, entries);
  assert.ok(pages.length > 1);
  for (const page of pages) {
    assert.ok(encoder.encode(JSON.stringify(page)).byteLength <= 56 * 1024);
    assert.equal(page.path, "/data");
    assert.equal(page.truncated, true);
  }
  assert.deepEqual(pages.map((p) => p.more), [...pages.slice(1).map(() => true), false]);
  assert.deepEqual(pages.flatMap((p) => p.entries as ListingEntry[]), entries);
});

// Desktop ---------------------------------------------------------------------------------

/** A TCP echo server standing in for a VNC server. */
function echoServer() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const serving = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      conn.readable.pipeTo(conn.writable).catch(() => {});
    }
  })();
  return {
    port: listener.addr.port,
    conns,
    async close() {
      listener.close();
      await serving;
    },
  };
}

Deno.test("a desktop channel tunnels bytes to the local VNC server and back", async () => {
  const vnc = echoServer();
  const h = harness({ vnc: { hostname: "127.0.0.1", port: vnc.port } });
  h.host.grant("s1", 60_000);
  await h.host.open({ channelId: 2, sessionId: "s1", kind: "desktop", params: {} });
  assert.deepEqual(h.of(2), [
    { type: "channel_opened", channelId: 2 },
    { type: "channel_credit", channelId: 2, bytes: EXTRA_WINDOW },
  ]);
  const hello = encoder.encode("RFB 003.008\n");
  const binary = randomBytes(200_000);
  h.host.data(2, hello);
  h.host.data(2, binary);
  await until("the echo", () => h.bytes(2).byteLength === hello.length + binary.length);
  assert.deepEqual(h.bytes(2).subarray(0, hello.length), hello);
  assert.deepEqual(h.bytes(2).subarray(hello.length), binary);
  h.host.close(2, "Technician left");
  await h.host.settled();
  assert.equal(h.ending(2), undefined);
  await h.done();
  await vnc.close();
});

Deno.test("a desktop channel credits the server a quarter of its 8 MiB window at a time", async () => {
  const vnc = echoServer();
  const h = harness({ vnc: { hostname: "127.0.0.1", port: vnc.port } });
  h.host.grant("s1", 60_000);
  await h.host.open({ channelId: 2, sessionId: "s1", kind: "desktop", params: {} });
  // The echo comes back within the server's credit.
  h.host.credit(2, 8 * MiB);
  // 4 MiB in 64 KiB frames: each is credited once it was written to the VNC server.
  const data = randomBytes(4 * MiB);
  for (let offset = 0; offset < data.byteLength; offset += 64 * 1024) {
    h.host.data(2, data.subarray(offset, offset + 64 * 1024));
  }
  await until("the echo", () => h.bytes(2).byteLength === data.byteLength);
  const credits = h.of(2).flatMap((m) => m.type === "channel_credit" ? [m.bytes] : []);
  // The first MiB of the protocol and 7 more at once; then 2 MiB per 2 MiB written.
  assert.deepEqual(credits, [7 * MiB, 2 * MiB, 2 * MiB]);
  assert.equal(INITIAL_WINDOW + EXTRA_WINDOW, 8 * MiB);
  await h.done();
  await vnc.close();
});

Deno.test("bytes short of a credit batch are credited together once the data pauses", async () => {
  const vnc = echoServer();
  const h = harness({ vnc: { hostname: "127.0.0.1", port: vnc.port } });
  h.host.grant("s1", 60_000);
  await h.host.open({ channelId: 2, sessionId: "s1", kind: "desktop", params: {} });
  const data = randomBytes(3 * 64 * 1024);
  for (let offset = 0; offset < data.byteLength; offset += 64 * 1024) {
    h.host.data(2, data.subarray(offset, offset + 64 * 1024));
  }
  const credits = () => h.of(2).flatMap((m) => m.type === "channel_credit" ? [m.bytes] : []);
  await until("the idle credit", () => credits().length > 1);
  assert.deepEqual(credits(), [EXTRA_WINDOW, data.byteLength]);
  await h.done();
  await vnc.close();
});

Deno.test("a desktop channel closes when the VNC server hangs up", async () => {
  const vnc = echoServer();
  const h = harness({ vnc: { hostname: "127.0.0.1", port: vnc.port } });
  h.host.grant("s1", 60_000);
  await h.host.open({ channelId: 2, sessionId: "s1", kind: "desktop", params: {} });
  await until("the connection", () => vnc.conns.length === 1);
  vnc.conns[0]!.close();
  await until("the close", () => h.ending(2) !== undefined);
  assert.deepEqual(h.ending(2), {
    type: "channel_close",
    channelId: 2,
    reason: "The VNC server closed the connection",
  });
  await h.done();
  await vnc.close();
});

Deno.test("a desktop channel without a VNC server is refused with its address", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const h = harness({ vnc: { hostname: "127.0.0.1", port } });
  h.host.grant("s1", 60_000);
  await h.host.open({ channelId: 2, sessionId: "s1", kind: "desktop", params: {} });
  assert.deepEqual(h.of(2), [{
    type: "channel_error",
    channelId: 2,
    message: `No VNC server is reachable at 127.0.0.1:${port}`,
  }]);
  await h.host.open({ channelId: 3, sessionId: "s1", kind: "webcam", params: {} });
  assert.deepEqual(h.of(3), [{
    type: "channel_error",
    channelId: 3,
    message: 'This agent cannot open "webcam" channels',
  }]);
  await h.done();
});

// Capabilities ----------------------------------------------------------------------------

Deno.test({
  name: "capabilities() offers files and a terminal here, and the desktop only while VNC listens",
  ignore: !linux,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = listener.addr.port;
    const h = harness({ vnc: { hostname: "127.0.0.1", port } });
    const accepting = listener.accept().then((conn) => conn.close());
    assert.deepEqual(await h.host.capabilities(), ["terminal", "desktop", "files"]);
    await accepting;
    listener.close();
    assert.deepEqual(await h.host.capabilities(), ["terminal", "files"]);
    await h.done();
  },
});
