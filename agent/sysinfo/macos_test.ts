import assert from "node:assert/strict";
import { macDeviceType, parseIoregConsoleUsers, parseIoregPlatform } from "./macos.ts";

const fixture = (name: string) =>
  Deno.readTextFileSync(new URL(`./testdata/${name}`, import.meta.url));

Deno.test("parseIoregPlatform() reads serial number, identifier and marketing name", () => {
  assert.deepEqual(parseIoregPlatform(fixture("ioreg_platform_arm.txt")), {
    serialNumber: "FVFHX0ABQ6L4",
    model: "Mac14,2",
    productName: "MacBook Air (M2, 2022)",
  });
  assert.deepEqual(parseIoregPlatform(fixture("ioreg_platform_intel.txt")), {
    serialNumber: "C07X2000JYVL",
    model: "Macmini8,1",
    productName: "Macmini8,1",
  });
  assert.deepEqual(parseIoregPlatform(""), {
    serialNumber: null,
    model: null,
    productName: null,
  });
});

Deno.test("parseIoregConsoleUsers() finds the console user and CGSSessionScreenIsLocked", () => {
  assert.deepEqual(parseIoregConsoleUsers(fixture("ioreg_root_plist.txt")), [
    { name: "alice", onConsole: true, locked: true },
    { name: "bob & co", onConsole: false, locked: false },
  ]);
  assert.deepEqual(parseIoregConsoleUsers("<plist><dict></dict></plist>"), []);
});

Deno.test("macDeviceType() tells laptops from desktops by model name or identifier", () => {
  const table: [string, ReturnType<typeof macDeviceType>][] = [
    ["MacBook Air (M2, 2022)", "Laptop"],
    ["MacBookPro18,3", "Laptop"],
    ["MacBook10,1", "Laptop"],
    ["iMac21,1", "Desktop"],
    ["Mac mini (2023)", "Desktop"],
    ["Macmini9,1", "Desktop"],
    ["Mac Studio (2023)", "Desktop"],
    ["MacPro7,1", "Desktop"],
    ["Xserve3,1", "Server"],
    // Identifiers since 2022 no longer say what kind of Mac it is.
    ["Mac14,2", null],
    ["VirtualMac2,1", null],
  ];
  for (const [model, expected] of table) assert.equal(macDeviceType(model), expected, model);
});
