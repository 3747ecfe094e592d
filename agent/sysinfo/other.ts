/** The probe for systems without one of their own: uname and `who`. */
import { parseWho, type Probed, type ProbeIo, unameOsName } from "./probe.ts";

/** Reads what any Unix-like system tells. */
export async function otherProbe(io: ProbeIo): Promise<Probed> {
  const [os, who] = await Promise.all([unameOsName(io), io.run("who", [])]);
  const users = who.code === 0 ? parseWho(who.stdout) : null;
  return {
    os,
    serialNumber: null,
    model: null,
    deviceType: null,
    users: users ?? [],
    locked: null,
    loggedOff: users === null ? null : users.length === 0,
  };
}
