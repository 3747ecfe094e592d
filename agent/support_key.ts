/**
 * The support app's key: a secret kept on this computer, from which the server derives the
 * fingerprint a support code binds to. The same key on every run lets the end user rejoin a
 * session; a new key makes this computer a stranger to codes it joined before.
 */
import { join } from "node:path";

/** The default state directory of the support app, per OS, in the end user's own profile. */
export function defaultSupportStateDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  os: string = Deno.build.os,
): string {
  const home = env("HOME") ?? ".";
  if (os === "windows") {
    return join(
      env("APPDATA") ?? join(env("USERPROFILE") ?? ".", "AppData", "Roaming"),
      "Assent Support",
    );
  }
  if (os === "darwin") return join(home, "Library", "Application Support", "Assent Support");
  return join(env("XDG_CONFIG_HOME") || join(home, ".config"), "assent-support");
}

/** Path of the key file in `stateDir`. */
export function supportKeyPath(stateDir: string): string {
  return join(stateDir, "support-key");
}

/** 32 random bytes as base64url without padding. */
const KEY = /^[A-Za-z0-9_-]{43}$/;

/**
 * Reads this computer's support key from `stateDir`, creating it (mode 0600) on the first
 * run. A damaged file is an error, never silently replaced: a new key would lose the
 * sessions this computer joined.
 */
export async function loadOrCreateSupportKey(stateDir: string): Promise<string> {
  const path = supportKeyPath(stateDir);
  const existing = await readKey(path);
  if (existing !== null) return existing;
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const key = base64url(crypto.getRandomValues(new Uint8Array(32)));
  // Written whole under a private name, then linked into place: of two first runs at once,
  // one key wins and the other run reads it complete, never half-written.
  const draft = `${path}.${base64url(crypto.getRandomValues(new Uint8Array(6)))}.tmp`;
  await Deno.writeTextFile(draft, `${key}\n`, { createNew: true, mode: 0o600 });
  try {
    if (Deno.build.os !== "windows") await Deno.chmod(draft, 0o600);
    await Deno.link(draft, path);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return await loadOrCreateSupportKey(stateDir);
    throw err;
  } finally {
    await Deno.remove(draft).catch(() => {});
  }
  return key;
}

async function readKey(path: string): Promise<string | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const key = text.trim();
  if (!KEY.test(key)) {
    throw new Error(
      `Support key file "${path}" is damaged; remove it to make a new key (session codes this computer joined will then refuse it)`,
    );
  }
  return key;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}
