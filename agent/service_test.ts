import assert from "node:assert/strict";
import {
  launchdPlist,
  serviceInstructions,
  systemdUnit,
  windowsServiceCommands,
} from "./service.ts";

const linux = {
  exec: "/usr/local/bin/assent",
  args: ["agent", "--server", "https://assent.example.com", "--state-dir", "/var/lib/assent-agent"],
  stateDir: "/var/lib/assent-agent",
};

const lines = (text: string) => text.split("\n");

Deno.test("systemdUnit() writes a hardened unit that always restarts", () => {
  const unit = systemdUnit({ ...linux, user: "assent" });
  for (
    const directive of [
      "[Unit]",
      "After=network-online.target",
      "Wants=network-online.target",
      "[Service]",
      "ExecStart=/usr/local/bin/assent agent --server https://assent.example.com --state-dir /var/lib/assent-agent",
      "Restart=always",
      "RestartSec=5",
      "User=assent",
      "WorkingDirectory=/var/lib/assent-agent",
      "StateDirectory=assent-agent",
      "StateDirectoryMode=0700",
      "[Install]",
      "WantedBy=multi-user.target",
    ]
  ) {
    assert.ok(lines(unit).includes(directive), `missing ${directive}\n${unit}`);
  }
  assert.ok(unit.endsWith("\n"));
});

Deno.test("systemdUnit() leaves out User= and StateDirectory= when they do not apply", () => {
  const unit = systemdUnit({ ...linux, stateDir: "/opt/assent/state/" });
  assert.ok(lines(unit).includes("WorkingDirectory=/opt/assent/state"));
  assert.doesNotMatch(unit, /^User=/m);
  assert.doesNotMatch(unit, /^StateDirectory/m);
  // /var/lib itself, or an escape from it, is not a state directory name.
  assert.doesNotMatch(systemdUnit({ ...linux, stateDir: "/var/lib/../etc" }), /^StateDirectory/m);
});

Deno.test("systemdUnit() quotes words by systemd's rules", () => {
  const unit = systemdUnit({
    exec: "/opt/Assent Agent/assent",
    args: ["agent", "--name", 'Front "desk" 100%', "--server", "$HOME", "", "-x", "a\\b"],
    stateDir: "/srv/assent state",
  });
  const exec = lines(unit).find((l) => l.startsWith("ExecStart="));
  assert.equal(
    exec,
    'ExecStart="/opt/Assent Agent/assent" agent --name "Front \\"desk\\" 100%%" --server "$$HOME" "" -x "a\\\\b"',
  );
  assert.ok(lines(unit).includes('WorkingDirectory="/srv/assent state"'));
});

Deno.test("systemdUnit() refuses what would break or inject into the unit file", () => {
  assert.throws(() => systemdUnit({ ...linux, exec: "assent" }), {
    message: 'The executable must be an absolute path, got "assent"',
  });
  assert.throws(
    () => systemdUnit({ ...linux, stateDir: "state" }),
    /state directory must be an absolute/,
  );
  assert.throws(
    () => systemdUnit({ ...linux, args: ["agent\nExecStartPre=/bin/rm -rf /"] }),
    /must not contain control characters/,
  );
  assert.throws(() => systemdUnit({ ...linux, user: "root\nUser=x" }), /Invalid user name/);
});

Deno.test("windowsServiceCommands() quotes a path with spaces inside binPath", () => {
  const commands = windowsServiceCommands({
    exec: "C:\\Program Files\\Assent\\assent.exe",
    args: [
      "agent",
      "--server",
      "https://assent.example.com",
      "--state-dir",
      "C:\\ProgramData\\Assent\\agent\\",
    ],
  });
  assert.deepEqual(commands, [
    'sc.exe create AssentAgent binPath= "\\"C:\\Program Files\\Assent\\assent.exe\\" agent --server https://assent.example.com --state-dir C:\\ProgramData\\Assent\\agent\\\\" start= auto DisplayName= "Assent Agent"',
    'sc.exe description AssentAgent "Assent remote-support agent"',
    "sc.exe failure AssentAgent reset= 86400 actions= restart/5000/restart/5000/restart/5000",
    "sc.exe failureflag AssentAgent 1",
    "sc.exe start AssentAgent",
  ]);
});

Deno.test("windowsServiceCommands() escapes quotes and trailing backslashes twice", () => {
  const [create] = windowsServiceCommands({
    exec: "C:\\Assent\\assent.exe",
    args: ["--state-dir", "C:\\Agent State\\", "--name", 'say "hi"'],
    name: "AssentAgent2",
  });
  // Inner command line: "C:\Assent\assent.exe" --state-dir "C:\Agent State\\" --name "say \"hi\""
  assert.equal(
    create,
    'sc.exe create AssentAgent2 binPath= "\\"C:\\Assent\\assent.exe\\" --state-dir \\"C:\\Agent State\\\\\\\\\\" --name \\"say \\\\\\"hi\\\\\\"\\"" start= auto DisplayName= "Assent Agent"',
  );
  assert.throws(() => windowsServiceCommands({ exec: "assent.exe", args: [] }), /absolute path/);
  assert.throws(
    () => windowsServiceCommands({ exec: "C:\\a.exe", args: [], name: "Assent Agent" }),
    /Service name must be/,
  );
});

Deno.test("launchdPlist() keeps the agent alive and escapes XML", () => {
  const plist = launchdPlist({
    exec: "/Applications/Assent & Co/assent",
    args: ["agent", "--name", "<R&D> \"lab\" 'mac'"],
    stateDir: "/Library/Application Support/Assent",
    user: "_assent",
  });
  assert.match(plist, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<!DOCTYPE plist/);
  assert.match(plist, /<key>Label<\/key>\n\t<string>org\.assent\.agent<\/string>/);
  assert.match(plist, /<key>RunAtLoad<\/key>\n\t<true\/>/);
  assert.match(plist, /<key>KeepAlive<\/key>\n\t<true\/>/);
  assert.match(plist, /<key>UserName<\/key>\n\t<string>_assent<\/string>/);
  assert.match(
    plist,
    /<key>ProgramArguments<\/key>\n\t<array>\n\t\t<string>\/Applications\/Assent &amp; Co\/assent<\/string>\n\t\t<string>agent<\/string>\n\t\t<string>--name<\/string>\n\t\t<string>&lt;R&amp;D&gt; &quot;lab&quot; &apos;mac&apos;<\/string>\n\t<\/array>/,
  );
  assert.match(
    plist,
    /<key>WorkingDirectory<\/key>\n\t<string>\/Library\/Application Support\/Assent<\/string>/,
  );
  assert.ok(!/&(?!amp;|lt;|gt;|quot;|apos;)/.test(plist), "every & is an entity");
  assert.throws(
    () => launchdPlist({ exec: "/bin/assent", args: ["\u0001"] }),
    /Cannot put control characters/,
  );
});

Deno.test("serviceInstructions() says where the unit goes and how to enable it on Linux", () => {
  const text = serviceInstructions("linux", linux);
  assert.match(text, /save this as \/etc\/systemd\/system\/assent-agent\.service:/);
  assert.ok(text.includes(systemdUnit(linux)));
  assert.match(text, /^ {2}systemctl daemon-reload$/m);
  assert.match(text, /^ {2}systemctl enable --now assent-agent\.service$/m);
  assert.match(text, /journalctl -u assent-agent\.service -f/);
  assert.match(
    text,
    /^ {2}\/usr\/local\/bin\/assent agent --server https:\/\/assent\.example\.com --state-dir \/var\/lib\/assent-agent --enroll TOKEN$/m,
  );
  // Enrolled before the service starts, not after.
  assert.ok(text.indexOf("--enroll TOKEN") < text.indexOf("systemctl enable"));
  // systemd creates a state directory under /var/lib itself.
  assert.doesNotMatch(text, /mkdir|chown/);

  const elsewhere = serviceInstructions("linux", {
    ...linux,
    stateDir: "/srv/assent's state",
    user: "assent",
  });
  assert.match(elsewhere, /^ {2}mkdir -p '\/srv\/assent'\\''s state'$/m);
  assert.match(elsewhere, /^ {2}chown -R assent '\/srv\/assent'\\''s state'$/m);
  assert.ok(elsewhere.indexOf("--enroll TOKEN") < elsewhere.indexOf("chown -R"));
});

Deno.test("serviceInstructions() gives the sc.exe commands and a startup-task fallback on Windows", () => {
  const opts = {
    exec: "C:\\Program Files\\Assent\\assent.exe",
    args: ["agent", "--server", "https://assent.example.com"],
    stateDir: "C:\\ProgramData\\Assent\\agent",
  };
  const text = serviceInstructions("windows", opts);
  assert.match(text, /elevated Command Prompt/);
  assert.ok(
    text.includes(
      '  "C:\\Program Files\\Assent\\assent.exe" agent --server https://assent.example.com --enroll TOKEN\n',
    ),
  );
  for (const command of windowsServiceCommands(opts)) assert.ok(text.includes(`  ${command}\n`));
  assert.match(text, /sc\.exe stop AssentAgent && sc\.exe delete AssentAgent/);
  assert.ok(
    text.includes(
      'schtasks /Create /F /TN "Assent Agent" /SC ONSTART /RU SYSTEM /RL HIGHEST /TR "\\"C:\\Program Files\\Assent\\assent.exe\\" agent --server https://assent.example.com"',
    ),
  );
});

Deno.test("serviceInstructions() installs a launch daemon on macOS", () => {
  const opts = {
    exec: "/usr/local/bin/assent",
    args: ["agent", "--server", "https://assent.example.com"],
    stateDir: "/Library/Application Support/Assent",
  };
  const text = serviceInstructions("darwin", opts);
  assert.match(text, /save this as \/Library\/LaunchDaemons\/org\.assent\.agent\.plist:/);
  assert.ok(text.includes(launchdPlist(opts)));
  assert.match(text, /^ {2}sudo mkdir -p '\/Library\/Application Support\/Assent'$/m);
  assert.match(text, /^ {2}sudo \/usr\/local\/bin\/assent agent --server \S+ --enroll TOKEN$/m);
  assert.match(
    text,
    /^ {2}sudo launchctl bootstrap system \/Library\/LaunchDaemons\/org\.assent\.agent\.plist$/m,
  );
  assert.match(text, /\/Library\/Logs\/assent-agent\.log/);
});

Deno.test("serviceInstructions() prints the command to run elsewhere", () => {
  const text = serviceInstructions("freebsd", {
    exec: "/usr/local/bin/assent",
    args: ["agent", "--name", "front desk"],
    stateDir: "/var/db/assent",
  });
  assert.match(text, /no service template for freebsd/);
  assert.match(text, /^ {2}\/usr\/local\/bin\/assent agent --name 'front desk'$/m);
});
