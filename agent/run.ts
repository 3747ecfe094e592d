/**
 * The reference agent: connects out to the server, enrolls once, says who it is and what
 * state its machine is in, answers what the server asks, and reconnects with backoff. The
 * command line is cli.ts; one connection is connection.ts.
 */
import { CLOSE, helloProofMessage } from "../protocol/messages.ts";
import { systemClock } from "../lib/clock.ts";
import { type DeviceKey, signWithDeviceKey } from "../lib/device_key.ts";
import { AgentStopped, connectOnce, type HelloAuth, promptAbilityText } from "./connection.ts";
import {
  credentialPath,
  deviceKeyPath,
  loadCredential,
  loadOrCreateDeviceKey,
  saveCredential,
} from "./credentials.ts";
import type { AgentOptions } from "./options.ts";
import {
  adaptivePrompter,
  agentIndicator,
  type TerminalPrompter,
  terminalPrompter,
} from "./prompt.ts";
import { agentGuard, programPaths } from "./reach.ts";
import { reconnecting } from "./reconnect.ts";

/** Runs the agent until a fatal refusal or `signal` aborts; returns the exit code. */
export async function runAgent(options: AgentOptions, signal?: AbortSignal): Promise<number> {
  const log = options.log;
  let credential = await loadCredential(options.stateDir);
  if (credential && options.enrollToken) {
    log(`already enrolled as device ${credential.deviceId}; ignoring --enroll`);
  }
  if (!credential && !options.enrollToken) {
    log(
      "this agent is not enrolled yet: run it once with --enroll TOKEN (ask an admin for a token)",
    );
    return 2;
  }
  // Made before enrolling, or on the first start of an agent enrolled before device keys.
  let deviceKey: DeviceKey;
  try {
    deviceKey = await loadOrCreateDeviceKey(options.stateDir);
  } catch (err) {
    log(`cannot use the device key: ${err instanceof Error ? err.message : err}`);
    return 1;
  }
  const held: { terminal: TerminalPrompter | null } = { terminal: null };
  const prompter = await adaptivePrompter({
    mode: options.prompt,
    environment: options.promptEnvironment,
    terminal: () =>
      held.terminal ??= terminalPrompter({ input: options.stdin, output: options.stdout }),
  });
  log(promptAbilityText(prompter.ability));
  const indicator = agentIndicator(prompter, held, options.stdout, log, options.locale);

  const onEnrolled = async ({ deviceId, secret }: { deviceId: string; secret: string }) => {
    credential = {
      server: options.server,
      deviceId,
      secret,
      enrolledAt: new Date().toISOString(),
    };
    await saveCredential(options.stateDir, credential);
    log(`enrolled as device ${deviceId}; credential saved in ${options.stateDir}`);
  };
  try {
    await reconnecting(
      async () => {
        const comeBack = await connectOnce(
          {
            ...options,
            hello: (nonce) => signedHello(credential, options.enrollToken!, deviceKey, nonce),
            guard: agentGuard({
              stateDir: options.stateDir,
              files: [credentialPath(options.stateDir), deviceKeyPath(options.stateDir)],
              home: Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE") ?? null,
              programs: programPaths(),
            }),
            stopReason: "Agent stopping",
            clock: systemClock,
            onEnrolled,
            indicator,
          },
          prompter,
          signal,
        );
        return comeBack ?? true;
      },
      options,
      signal,
    );
  } catch (err) {
    if (!(err instanceof AgentStopped)) throw err;
    log(`stopped: ${err.message}`);
    if (err.code === CLOSE.badKey) {
      log(
        `the device key in ${options.stateDir} is not the one the server registered for this ` +
          "device; if this is the real device and its key was lost, an admin must enroll it again",
      );
    }
    return 1;
  }
  return 0;
}

/**
 * The hello's auth: the credential (or the enrollment token before there is one), with the
 * device key's signature of this connection's challenge.
 */
async function signedHello(
  credential: { deviceId: string; secret: string } | null,
  enrollToken: string,
  key: DeviceKey,
  nonce: string,
): Promise<HelloAuth> {
  const message = helloProofMessage(nonce, credential?.deviceId ?? null);
  const proof = { publicKey: key.publicKey, signature: await signWithDeviceKey(key, message) };
  return credential
    ? { kind: "device", deviceId: credential.deviceId, secret: credential.secret, proof }
    : { kind: "enroll", token: enrollToken, proof };
}
