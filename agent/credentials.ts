/**
 * The agent's own credential: its device id and secret, kept in a file only its user can
 * read, and reused on every start.
 */
import { join } from "node:path";

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
  await Deno.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = credentialPath(stateDir);
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(credential, null, 2) + "\n", { mode: 0o600 });
  if (Deno.build.os !== "windows") await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, path);
}
