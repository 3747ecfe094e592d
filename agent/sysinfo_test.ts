import assert from "node:assert/strict";
import { DeviceInfo } from "../protocol/messages.ts";
import {
  collectDeviceInfo,
  deviceInfoChanged,
  type RunResult,
  type SysinfoOptions,
} from "./sysinfo.ts";
import { WINDOWS_PROBE_ARGS } from "./sysinfo/windows.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./sysinfo/testdata/${name}`, import.meta.url));

const user = (name: string, session: string | null, locked: boolean | null = null) => ({
  name,
  session,
  locked,
});

function nic(name: string, address: string): Deno.NetworkInterfaceInfo {
  const family = address.includes(":") ? "IPv6" : "IPv4";
  return { family, name, address, netmask: "", scopeid: null, cidr: "", mac: "" };
}

/** A machine whose commands print fixed output; an unknown command cannot be started. */
function fakeMachine(
  os: typeof Deno.build.os,
  commands: Record<string, RunResult>,
  files: Record<string, string> = {},
  extra: Partial<SysinfoOptions> = {},
): SysinfoOptions & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    os,
    run: (cmd, args) => {
      calls.push([cmd, ...args]);
      const key = [cmd, ...args].join(" ");
      const hit = Object.entries(commands).find(([prefix]) => key.startsWith(prefix));
      return Promise.resolve(hit ? hit[1] : { code: 127, stdout: "" });
    },
    readFile: (path) => Promise.resolve(files[path] ?? null),
    hostname: () => "desk-042",
    networkInterfaces: () => [nic("lo", "127.0.0.1"), nic("eth0", "10.1.2.3")],
    env: () => undefined,
    osRelease: () => "6.1.0",
    ...extra,
  };
}

const ok = (stdout: string): RunResult => ({ code: 0, stdout });

const linuxFiles = {
  "/sys/class/dmi/id/product_serial": "5CG1234XYZ\n",
  "/sys/class/dmi/id/sys_vendor": "HP\n",
  "/sys/class/dmi/id/product_name": "HP EliteBook 840 G8 Notebook PC\n",
  "/sys/class/dmi/id/product_version": "SBKPF\n",
  "/sys/class/dmi/id/chassis_type": "10\n",
  "/etc/os-release": 'NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n',
};

Deno.test("collectDeviceInfo() describes a Linux laptop from DMI, os-release and logind", async () => {
  const machine = fakeMachine(
    "linux",
    {
      "loginctl list-sessions": ok(
        "      2 1000 alice seat0 tty2\n     c1  120 gdm   seat0 tty1\n",
      ),
      "loginctl show-session 2 c1": ok(fixture("loginctl_show.txt")),
      "who": ok("alice    tty2         2024-05-01 09:12 (tty2)\n"),
    },
    linuxFiles,
    {
      networkInterfaces: () => [
        nic("lo", "127.0.0.1"),
        nic("lo", "::1"),
        nic("docker0", "172.17.0.1"),
        nic("wlp0s20f3", "fe80::1c2b:3ff:fe4d:5e6f"),
        nic("wlp0s20f3", "2001:db8::42"),
        nic("wlp0s20f3", "192.168.1.50"),
        nic("enp0s31f6", "169.254.10.20"),
        nic("enp0s31f6", "192.168.1.50"),
      ],
      capabilities: ["prompt", "terminal", "prompt"],
    },
  );
  const info = await collectDeviceInfo(machine);
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.deepEqual(info, {
    name: "desk-042",
    serialNumber: "5CG1234XYZ",
    os: "Ubuntu 24.04 LTS",
    osFamily: "linux",
    model: "HP EliteBook 840 G8 Notebook PC SBKPF",
    deviceType: "Laptop",
    ipAddresses: ["192.168.1.50", "172.17.0.1", "2001:db8::42"],
    users: [user("alice", "tty2", true), user("bob", "pts/0", false)],
    locked: true,
    loggedOff: false,
    capabilities: ["prompt", "terminal"],
  });
});

Deno.test("collectDeviceInfo() ignores firmware placeholders and does not guess a VM's type", async () => {
  const table: [Record<string, string>, string | null, string | null, string | null][] = [
    [
      {
        product_serial: "To Be Filled By O.E.M.",
        sys_vendor: "To Be Filled By O.E.M.",
        product_name: "To Be Filled By O.E.M.",
        product_version: "To Be Filled By O.E.M.",
        chassis_type: "3",
      },
      null,
      null,
      "Desktop",
    ],
    [
      {
        product_serial: "System Serial Number",
        sys_vendor: "System manufacturer",
        product_name: "System Product Name",
        product_version: "System Version",
        chassis_type: "3",
      },
      null,
      null,
      "Desktop",
    ],
    [
      {
        product_serial: "Default string",
        sys_vendor: "Micro-Star International Co., Ltd.",
        product_name: "MS-7C02",
        product_version: "1.0",
        chassis_type: "3",
      },
      null,
      "Micro-Star International Co., Ltd. MS-7C02",
      "Desktop",
    ],
    [
      {
        product_serial: "0",
        sys_vendor: "QEMU",
        product_name: "Standard PC (Q35 + ICH9, 2009)",
        product_version: "pc-q35-8.2",
        chassis_type: "1",
      },
      null,
      "QEMU Standard PC (Q35 + ICH9, 2009) pc-q35-8.2",
      null,
    ],
    [
      {
        product_serial: "None",
        sys_vendor: "LENOVO",
        product_name: "20W0005QGE",
        product_version: "ThinkPad T14 Gen 2i",
        chassis_type: "10",
      },
      null,
      "LENOVO ThinkPad T14 Gen 2i (20W0005QGE)",
      "Laptop",
    ],
    [
      {
        product_serial: "00000000-0000-0000",
        sys_vendor: "Dell Inc.",
        product_name: "PowerEdge R740",
        product_version: "",
        chassis_type: "23",
      },
      null,
      "Dell Inc. PowerEdge R740",
      "Server",
    ],
    [
      {
        product_serial: "",
        sys_vendor: "",
        product_name: "",
        product_version: "",
        chassis_type: "",
      },
      null,
      null,
      null,
    ],
  ];
  for (const [dmi, serial, model, deviceType] of table) {
    const files = Object.fromEntries(
      Object.entries(dmi).map(([k, v]) => [`/sys/class/dmi/id/${k}`, `${v}\n`]),
    );
    const info = await collectDeviceInfo(fakeMachine("linux", {}, files));
    assert.deepEqual(
      [info.serialNumber, info.model, info.deviceType],
      [serial, model, deviceType],
      dmi.sys_vendor ?? "",
    );
  }
});

Deno.test("collectDeviceInfo() falls back to the device tree on boards without DMI", async () => {
  const info = await collectDeviceInfo(fakeMachine("linux", {}, {
    "/proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.4\0",
    "/proc/device-tree/serial-number": "10000000a1b2c3d4\0",
  }));
  assert.equal(info.model, "Raspberry Pi 4 Model B Rev 1.4");
  assert.equal(info.serialNumber, "10000000a1b2c3d4");
});

Deno.test("collectDeviceInfo() on Linux uses who when logind is not running", async () => {
  const info = await collectDeviceInfo(fakeMachine("linux", {
    "loginctl list-sessions": { code: 1, stdout: "" },
    "who": ok("bob      pts/0        2024-05-01 10:01 (192.168.1.20)\n"),
  }, linuxFiles));
  assert.deepEqual(info.users, [user("bob", "pts/0")]);
  assert.equal(info.locked, null);
  assert.equal(info.loggedOff, false);

  const nobody = await collectDeviceInfo(fakeMachine("linux", {
    "loginctl list-sessions": ok("     c1  120 gdm   seat0 tty1\n"),
    "loginctl show-session c1": ok("Id=c1\nName=gdm\nClass=greeter\nType=wayland\nActive=yes\n"),
    "who": ok(""),
  }, linuxFiles));
  assert.deepEqual([nobody.users, nobody.locked, nobody.loggedOff], [[], null, true]);
});

Deno.test("collectDeviceInfo() gives nulls, not errors, when every tool and file is missing", async () => {
  for (const os of ["linux", "windows", "darwin", "freebsd"] as const) {
    const machine = fakeMachine(os, {}, {}, {
      run: () => Promise.reject(new Error("spawn failed")),
      readFile: () => Promise.reject(new Error("permission denied")),
      hostname: () => {
        throw new Error("no permission");
      },
      networkInterfaces: () => {
        throw new Error("no permission");
      },
      env: (name) => name === "HOSTNAME" || name === "COMPUTERNAME" ? "fallback-host" : undefined,
    });
    const info = await collectDeviceInfo(machine);
    assert.deepEqual(DeviceInfo.parse(info), info);
    assert.equal(info.name, "fallback-host", os);
    assert.deepEqual(
      [info.serialNumber, info.model, info.deviceType, info.locked, info.loggedOff],
      [null, null, null, null, null],
      os,
    );
    assert.deepEqual([info.users, info.ipAddresses], [[], []]);
    assert.ok(info.os.length > 0);
  }
  const linux = await collectDeviceInfo(fakeMachine("linux", {}, {}, {
    run: () => Promise.reject(new Error("spawn failed")),
  }));
  assert.equal(linux.os, "linux 6.1.0");
  assert.equal(linux.osFamily, "linux");
});

Deno.test("collectDeviceInfo() trims and truncates values to the protocol's limits", async () => {
  const info = await collectDeviceInfo(fakeMachine("linux", {
    "who": ok(`${"u".repeat(300)} pts/0 2024-05-01 10:01\n`),
  }, {
    "/sys/class/dmi/id/product_serial": `  ${"AB12".repeat(50)}  \n`,
    "/sys/class/dmi/id/product_name": `Model\u001b[31m ${"m".repeat(400)}`,
    "/etc/os-release": `PRETTY_NAME="${"Distro ".repeat(60)}"`,
  }, { hostname: () => ` ${"h".repeat(300)}\n` }));
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.equal(info.name.length, 255);
  assert.equal(info.serialNumber?.length, 128);
  assert.ok(info.model!.length <= 255 && !info.model!.includes("\u001b"));
  assert.ok(info.os.length <= 255 && !info.os.endsWith(" "));
  assert.equal(info.users[0]?.name.length, 256);
});

Deno.test("collectDeviceInfo() describes Windows from one PowerShell call and quser", async () => {
  const machine = fakeMachine("windows", {
    "powershell": ok(
      JSON.stringify({
        serial: "PF3ABCDE",
        manufacturer: "LENOVO",
        model: "20XW0026GE",
        chassis: [10],
        caption: "Microsoft Windows 11 Pro",
        version: "10.0.22631",
        consoleUser: "CORP\\alice",
        logonUi: true,
      }) + "\r\n",
    ),
    "quser": ok(
      " USERNAME              SESSIONNAME        ID  STATE   IDLE TIME  LOGON TIME\r\n" +
        ">alice                 console             1  Active      none   5/1/2024 9:12 AM\r\n" +
        " bob                                       3  Disc         1:02  5/1/2024 8:00 AM\r\n",
    ),
  });
  const info = await collectDeviceInfo(machine);
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.deepEqual(info, {
    name: "desk-042",
    serialNumber: "PF3ABCDE",
    os: "Microsoft Windows 11 Pro 10.0.22631",
    osFamily: "windows",
    model: "LENOVO 20XW0026GE",
    deviceType: "Laptop",
    ipAddresses: ["10.1.2.3"],
    users: [user("alice", "console", true), user("bob", "disconnected")],
    locked: true,
    loggedOff: false,
    capabilities: [],
  });
  assert.deepEqual(machine.calls.find((c) => c[0] === "powershell"), [
    "powershell",
    ...WINDOWS_PROBE_ARGS,
  ]);
  assert.ok(!machine.calls.some((c) => c[0] === "wmic" || c[0] === "tasklist"));
});

Deno.test("collectDeviceInfo() on Windows falls back to wmic and tasklist", async () => {
  const info = await collectDeviceInfo(fakeMachine("windows", {
    "powershell": { code: 1, stdout: "" },
    "wmic bios": ok("\r\r\nSerialNumber=Default string\r\r\n\r\r\n"),
    "wmic computersystem": ok(
      "\r\r\nManufacturer=Dell Inc.\r\r\nModel=OptiPlex 7090\r\r\nUserName=\r\r\n",
    ),
    "wmic systemenclosure": ok("\r\r\nChassisTypes={3}\r\r\n"),
    "wmic os": ok("\r\r\nCaption=Microsoft Windows 10 Pro\r\r\nVersion=10.0.19045\r\r\n"),
    "tasklist": ok("INFO: No tasks are running which match the specified criteria.\r\n"),
    // quser exits 1 and prints to stderr when no one is logged on.
    "quser": { code: 1, stdout: "" },
  }));
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.equal(info.serialNumber, null);
  assert.equal(info.model, "Dell Inc. OptiPlex 7090");
  assert.equal(info.deviceType, "Desktop");
  assert.equal(info.os, "Microsoft Windows 10 Pro 10.0.19045");
  assert.deepEqual([info.users, info.locked, info.loggedOff], [[], null, true]);
});

Deno.test("collectDeviceInfo() on Windows Home reports the console user when quser is missing", async () => {
  const info = await collectDeviceInfo(fakeMachine("windows", {
    "powershell": ok(
      '{"serial":"X1","manufacturer":"ASUS","model":"VivoBook","chassis":10,"caption":"Microsoft Windows 11 Home","version":"10.0.26100","consoleUser":"LAPTOP\\\\carol","logonUi":false}',
    ),
  }));
  assert.deepEqual(info.users, [user("carol", "console")]);
  assert.deepEqual([info.locked, info.loggedOff, info.deviceType], [null, false, "Laptop"]);
});

Deno.test("collectDeviceInfo() describes a Mac from ioreg, sw_vers and who", async () => {
  const info = await collectDeviceInfo(fakeMachine(
    "darwin",
    {
      "ioreg -rd1 -c IOPlatformExpertDevice": ok(fixture("ioreg_platform_arm.txt")),
      "ioreg -n Root -d1 -a": ok(fixture("ioreg_root_plist.txt")),
      "sysctl -n hw.model": ok("Mac14,2\n"),
      "sw_vers": ok("ProductName:\t\tmacOS\nProductVersion:\t\t14.4.1\nBuildVersion:\t\t23E224\n"),
      "who": ok("alice    console  May  1 09:12 \nalice    ttys000  May  1 09:13 \n"),
    },
    {},
    { hostname: () => "Alices-MacBook-Air.local" },
  ));
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.deepEqual(info, {
    name: "Alices-MacBook-Air.local",
    serialNumber: "FVFHX0ABQ6L4",
    os: "macOS 14.4.1",
    osFamily: "macos",
    model: "Apple MacBook Air (M2, 2022)",
    deviceType: "Laptop",
    ipAddresses: ["10.1.2.3"],
    users: [user("alice", "console", true), user("alice", "ttys000")],
    locked: true,
    loggedOff: false,
    capabilities: [],
  });
});

Deno.test("collectDeviceInfo() on an Intel Mac without ioreg console data leaves locked null", async () => {
  const info = await collectDeviceInfo(fakeMachine("darwin", {
    "ioreg -rd1 -c IOPlatformExpertDevice": ok(fixture("ioreg_platform_intel.txt")),
    "sw_vers": ok("ProductName:\tMac OS X\nProductVersion:\t10.15.7\n"),
    "who": ok(""),
  }));
  assert.deepEqual(
    [info.model, info.deviceType, info.os, info.locked, info.loggedOff],
    ["Apple Macmini8,1", "Desktop", "Mac OS X 10.15.7", null, true],
  );
});

Deno.test("collectDeviceInfo() does its best on other systems", async () => {
  const info = await collectDeviceInfo(fakeMachine("freebsd", {
    "uname -sr": ok("FreeBSD 14.1-RELEASE\n"),
    "who": ok("dave     ttyv0    May  1 09:12\n"),
  }));
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.deepEqual(
    [info.os, info.osFamily, info.users, info.loggedOff],
    ["FreeBSD 14.1-RELEASE", "other", [user("dave", "ttyv0")], false],
  );
});

Deno.test("collectDeviceInfo() reads this Linux machine for real", async () => {
  const started = performance.now();
  const info = await collectDeviceInfo();
  assert.deepEqual(DeviceInfo.parse(info), info);
  assert.equal(info.name, Deno.hostname());
  assert.equal(info.osFamily, "linux");
  assert.ok(performance.now() - started < 5_000, "probes must be quick");
});

const base: DeviceInfo = {
  name: "desk-042",
  serialNumber: "S1",
  os: "Ubuntu 24.04 LTS",
  osFamily: "linux",
  model: null,
  deviceType: "Laptop",
  ipAddresses: ["10.0.0.1", "2001:db8::1"],
  users: [user("alice", "tty2", false), user("bob", "pts/0")],
  locked: false,
  loggedOff: false,
  capabilities: ["prompt", "terminal"],
};

Deno.test("deviceInfoChanged() ignores list order and notices every real change", () => {
  const reordered: DeviceInfo = {
    ...base,
    ipAddresses: ["2001:db8::1", "10.0.0.1"],
    users: [user("bob", "pts/0"), user("alice", "tty2", false)],
    capabilities: ["terminal", "prompt"],
  };
  assert.equal(deviceInfoChanged(base, structuredClone(base)), false);
  assert.equal(deviceInfoChanged(base, reordered), false);
  const changes: Partial<DeviceInfo>[] = [
    { name: "desk-043" },
    { serialNumber: null },
    { os: "Ubuntu 24.10" },
    { model: "HP" },
    { deviceType: null },
    { ipAddresses: ["10.0.0.1"] },
    { ipAddresses: ["10.0.0.1", "2001:db8::1", "10.0.0.2"] },
    { users: [user("alice", "tty2", true), user("bob", "pts/0")] },
    { users: [user("alice", "tty2", false)] },
    { locked: true },
    { loggedOff: null },
    { capabilities: ["prompt"] },
    { emailAuthorization: { required: true, recipients: ["it@example.com"] } },
  ];
  for (const change of changes) {
    assert.equal(deviceInfoChanged(base, { ...base, ...change }), true, JSON.stringify(change));
  }
});
