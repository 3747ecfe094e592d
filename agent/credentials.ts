/**
 * The agent's own credential: its device id and secret, and the device key that proves the
 * credential is in the hands of the machine that enrolled. Both are kept in files only the
 * agent's user can read, in a state folder no channel can reach, and reused on every start.
 */
import { join } from "node:path";
import { type DeviceKey, generateDeviceKey, readDeviceKey } from "../lib/device_key.ts";

/** What enrollment gave this agent. */
export interface Credential {
  server: string;
  deviceId: string;
  secret: string;
  enrolledAt: string;
}

/** The default state directory for the agent's credential. */
export function defaultStateDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  os: string = Deno.build.os,
  uid: number | null = Deno.uid(),
): string {
  if (os === "windows") {
    return join(env("ProgramData") ?? "C:\\ProgramData", "Assent", "agent");
  }
  if (uid === 0) return "/var/lib/assent-agent";
  const config = env("XDG_CONFIG_HOME") ?? join(env("HOME") ?? ".", ".config");
  return join(config, "assent-agent");
}

/** Path of the credential file in `stateDir`. */
export function credentialPath(stateDir: string): string {
  return join(stateDir, "credential.json");
}

/** Reads the credential, or null when the agent has not enrolled yet. */
export async function loadCredential(stateDir: string): Promise<Credential | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(credentialPath(stateDir));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const data = JSON.parse(text);
  if (typeof data?.deviceId !== "string" || typeof data?.secret !== "string") {
    throw new Error(
      `Credential file "${credentialPath(stateDir)}" is damaged; remove it and enroll again`,
    );
  }
  return data as Credential;
}

/** Writes the credential atomically with mode 0600 (readable only by the agent's user). */
export async function saveCredential(stateDir: string, credential: Credential): Promise<void> {
  await makeStateDir(stateDir);
  const path = credentialPath(stateDir);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(credential, null, 2) + "\n", { mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}

/** Path of the device key file in `stateDir`. */
export function deviceKeyPath(stateDir: string): string {
  return join(stateDir, "device-key.json");
}

/**
 * Reads the device key from `stateDir`, making one (mode 0600) when there is none: at
 * enrollment, or on the first start after an upgrade from an agent without keys. A damaged
 * file is an error, never silently replaced: the server knows only the key it registered.
 */
export async function loadOrCreateDeviceKey(stateDir: string): Promise<DeviceKey> {
  const path = deviceKeyPath(stateDir);
  let text: string | null = null;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (text !== null) {
    let data: unknown = null;
    try {
      data = JSON.parse(text);
    } catch {
      // Reported below.
    }
    const key = await readDeviceKey(data);
    if (!key) {
      throw new Error(
        `Device key file "${path}" is damaged; the server will refuse any other key, so an admin must enroll this device again`,
      );
    }
    return key;
  }
  await makeStateDir(stateDir);
  const key = await generateDeviceKey();
  // Written whole under a private name, then linked into place: of two first starts at once,
  // one key wins and the other start reads it complete.
  const draft = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(draft, JSON.stringify(key, null, 2) + "\n", {
    createNew: true,
    mode: 0o600,
  });
  try {
    if (Deno.build.os !== "windows") await Deno.chmod(draft, 0o600);
    await Deno.link(draft, path);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return await loadOrCreateDeviceKey(stateDir);
    throw err;
  } finally {
    await Deno.remove(draft).catch(() => {});
  }
  return key;
}

/**
 * Creates the state folder readable only by the agent's user. On Windows, where modes mean
 * nothing and ProgramData is readable by every user, the folder's inherited permissions are
 * replaced with full control for SYSTEM, Administrators and the agent's own account.
 */
export async function makeStateDir(stateDir: string): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  if (Deno.build.os !== "windows") return;
  const args = windowsStateDirAcl(stateDir, Deno.env.get("USERNAME") ?? null);
  const result = await new Deno.Command("icacls", { args, stdout: "null", stderr: "piped" })
    .output().catch((err) => ({ success: false, stderr: new TextEncoder().encode(String(err)) }));
  if (!result.success) {
    throw new Error(
      `Could not restrict "${stateDir}" to the agent: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
}

/** The icacls arguments that make `stateDir` private to SYSTEM, Administrators and `user`. */
export function windowsStateDirAcl(stateDir: string, user: string | null): string[] {
  const grants = ["*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"];
  // A name with these characters would be read as more icacls syntax.
  if (user && !/[:()*]/.test(user) && !user.endsWith("$")) grants.push(`${user}:(OI)(CI)F`);
  return [stateDir, "/inheritance:r", ...grants.flatMap((g) => ["/grant:r", g])];
}
