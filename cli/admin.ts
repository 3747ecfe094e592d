/**
 * `assent admin …`: console administration on the data directory, for scripted roll-outs
 * and for the way back in when the only super admin has lost their authenticator.
 * Every change is audited with the console as the actor.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { systemClock } from "../lib/clock.ts";
import { resolveSettings } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { passwordProblem } from "../lib/password.ts";
import { loadInstanceSecret, SecretBox } from "../lib/secret_box.ts";
import { loadAuditKey } from "../lib/audit_key.ts";
import { AccountError } from "../services/accounts.ts";
import { buildServices, type Services } from "../services/mod.ts";
import { migrate, openDatabase } from "../store/db.ts";
import { findDepartmentByName, insertDepartment, listDepartments } from "../store/departments.ts";
import { completeSetup } from "../store/instance.ts";
import { newId, randomToken } from "../lib/tokens.ts";
import type { Role } from "../store/schema.ts";
import { findUserByEmail, listUsers, setUserDepartments } from "../store/users.ts";
import { createApiToken } from "../services/api_tokens.ts";
import { BackupError, createBackup, restoreBackup } from "../services/backup.ts";
import { createEnrollmentToken, tokenState } from "../services/devices.ts";
import { appendAudit } from "../store/audit.ts";
import { describeReport } from "../services/audit_chain.ts";
import {
  findEnrollmentToken,
  listEnrollmentTokens,
  listGroups,
  revokeEnrollmentToken,
} from "../store/devices.ts";

const HELP = `Console administration. Works on the data directory (--data-dir, ASSENT_DATA_DIR,
data-dir in the --config file, default ./data); safe to run while the server is running.

  assent admin user list
  assent admin user create --email EMAIL --name NAME --role ROLE [--department NAME]…
                           [--password-stdin]
  assent admin user reset-password --email EMAIL [--password-stdin]
  assent admin user reset-mfa --email EMAIL
  assent admin department create --name NAME
  assent admin department list
  assent admin enroll-token create --department NAME [--group NAME] [--label TEXT]
                           [--expires 1h|24h|7d|30d] [--uses N] [--server URL]
  assent admin api-token create --email EMAIL --name TEXT [--expires 90d|never]
  assent admin enroll-token list
  assent admin enroll-token revoke --id ID
  assent admin backup FILE      database snapshot, instance secret and manifest in one
                                archive (keep it as safe as the server: it holds the secret)
  assent admin restore FILE [--replace]
                                only while the server is stopped; --replace moves an
                                existing database aside first
  assent admin audit verify
  assent admin audit checkpoint
  assent admin audit export [--out FILE]

Roles: super_admin, admin, technician. Without --password-stdin a strong password is
generated and printed once. Creating a super admin on a fresh install completes first-run
setup (--organization NAME names the organization).

"audit verify" walks the audit log's hash chain and its signed checkpoints and prints
"intact, N rows, last checkpoint T" (exit 0) or the first broken link (exit 1). "audit
checkpoint" signs the chain's head now. "audit export" writes the signed JSON-lines bundle
that docs/audit-verification.md checks offline.`;

const CONSOLE = { kind: "console" as const, label: "console" };

/** A mistake in an admin command, printed without a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Runs an admin command; returns the exit code. */
export async function runAdmin(
  args: string[],
  io: { out: (s: string) => void; err: (s: string) => void; stdin?: () => Promise<string> } = {
    out: (s) => console.log(s),
    err: (s) => console.error(s),
  },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: false,
    options: { "data-dir": { type: "string" }, config: { type: "string" } },
  });
  const [group, command] = positionals;
  if (!group || group === "help" || values.help) {
    io.out(HELP);
    return group ? 0 : 2;
  }
  // The same data directory the server uses: flag, environment, config file, default.
  const configArgs = typeof values.config === "string" ? ["--config", values.config] : [];
  const dataDir = (values["data-dir"] as string | undefined) ??
    resolveSettings(configArgs).settings["data-dir"].value;
  if (group === "backup" || group === "restore") {
    try {
      const rest = args.filter((a) => a !== group);
      return group === "backup"
        ? await backup(dataDir, rest, io.out)
        : await restore(dataDir, rest, io.out);
    } catch (err) {
      if (err instanceof UsageError || err instanceof BackupError) {
        io.err(`assent admin: ${err.message}`);
        return err instanceof UsageError ? 2 : 1;
      }
      throw err;
    }
  }
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const box = new SecretBox(await loadInstanceSecret(join(dataDir, "secret.key")));
  const auditKey = await loadAuditKey(join(dataDir, "audit.key"));
  const database = openDatabase(join(dataDir, "assent.db"));
  try {
    await migrate(database.db);
    const services = await buildServices({
      db: database.db,
      clock: systemClock,
      log: silentLogger,
      box,
      auditKey,
      publicUrl: "http://127.0.0.1",
    });
    const rest = args.filter((a) => a !== group && a !== command);
    const readStdin = io.stdin ?? readAllStdin;
    switch (`${group} ${command}`) {
      case "user list":
        return await userList(services, io.out);
      case "user create":
        return await userCreate(services, rest, io.out, readStdin);
      case "user reset-password":
        return await userResetPassword(services, rest, io.out, readStdin);
      case "user reset-mfa":
        return await userResetMfa(services, rest, io.out);
      case "department create":
        return await departmentCreate(services, rest, io.out);
      case "department list":
        return await departmentList(services, io.out);
      case "enroll-token create":
        return await tokenCreate(services, rest, io.out);
      case "api-token create":
        return await apiTokenCreate(services, rest, io.out);
      case "enroll-token list":
        return await tokenList(services, io.out);
      case "enroll-token revoke":
        return await tokenRevoke(services, rest, io.out);
      case "audit verify":
        return await auditVerify(services, rest, io.out);
      case "audit checkpoint":
        return await auditCheckpoint(services, rest, io.out);
      case "audit export":
        return await auditExport(services, rest, io.out);
      default:
        throw new UsageError(`Unknown admin command "${[group, command].join(" ")}"\n\n${HELP}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof AccountError) {
      io.err(`assent admin: ${err.message}`);
      return err instanceof UsageError ? 2 : 1;
    }
    throw err;
  } finally {
    await database.close();
  }
}

function options(args: string[], spec: Record<string, "string" | "boolean" | "multiple">) {
  try {
    return parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.entries({ ...spec, "data-dir": "string", config: "string" } as Record<
          string,
          string
        >).map((
          [k, t],
        ) => [
          k,
          t === "multiple"
            ? { type: "string" as const, multiple: true }
            : { type: t as "string" | "boolean" },
        ]),
      ),
    }).values as Record<string, string | boolean | string[] | undefined>;
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v.trim() === "") throw new UsageError(`--${name} is required`);
  return v.trim();
}

async function userList(services: Services, out: (s: string) => void): Promise<number> {
  const names = new Map((await listDepartments(services.db)).map((d) => [d.id, d.name]));
  const users = await listUsers(services.db);
  if (users.length === 0) {
    out("No users yet. Create one with: assent admin user create …");
    return 0;
  }
  out(["EMAIL", "NAME", "ROLE", "MFA", "STATUS", "DEPARTMENTS"].join("\t"));
  for (const u of users) {
    out([
      u.email,
      u.name,
      u.role,
      u.totp_enabled_at ? "on" : "off",
      u.disabled_at ? "disabled" : "active",
      u.departmentIds.map((id) => names.get(id)).join(", ") || "-",
    ].join("\t"));
  }
  return 0;
}

async function newPassword(
  values: Record<string, unknown>,
  readStdin: () => Promise<string>,
  context: { email: string; name?: string },
): Promise<{ password: string; generated: boolean }> {
  if (values["password-stdin"]) {
    const password = (await readStdin()).replace(/\r?\n$/, "");
    const problem = passwordProblem(password, context);
    if (problem) throw new UsageError(problem);
    return { password, generated: false };
  }
  return { password: randomToken(15), generated: true };
}

async function userCreate(
  services: Services,
  args: string[],
  out: (s: string) => void,
  readStdin: () => Promise<string>,
): Promise<number> {
  const values = options(args, {
    email: "string",
    name: "string",
    role: "string",
    department: "multiple",
    organization: "string",
    "password-stdin": "boolean",
  });
  const email = required(values, "email").toLowerCase();
  const name = required(values, "name");
  const role = required(values, "role");
  if (!["super_admin", "admin", "technician"].includes(role)) {
    throw new UsageError(`--role must be super_admin, admin or technician, got "${role}"`);
  }
  const departmentIds: string[] = [];
  for (const dept of (values.department as string[] | undefined) ?? []) {
    const found = await findDepartmentByName(services.db, dept);
    if (!found) throw new UsageError(`No department named "${dept}"`);
    departmentIds.push(found.id);
  }
  const { password, generated } = await newPassword(values, readStdin, { email, name });
  const created = await services.accounts.createUser(
    { email, name, role: role as Role, password },
    CONSOLE,
    (trx, id) => setUserDepartments(trx, id, departmentIds),
  );
  out(`Created ${role} ${email} (id ${created}).`);
  if (role === "super_admin") {
    // A console-made super admin is the first-run setup of scripted installs.
    const organization = String(values.organization ?? "Assent");
    const now = services.clock.now();
    if (await completeSetup(services.db, organization, now)) {
      await appendAudit(services.db, {
        at: now,
        action: "setup.completed",
        actor: CONSOLE,
        detail: { organization },
      });
      out(`First-run setup completed for "${organization}".`);
    }
  }
  if (generated) out(`Password: ${password}\nShare it securely; it is not shown again.`);
  return 0;
}

async function userResetPassword(
  services: Services,
  args: string[],
  out: (s: string) => void,
  readStdin: () => Promise<string>,
): Promise<number> {
  const values = options(args, { email: "string", "password-stdin": "boolean" });
  const email = required(values, "email");
  const user = await findUserByEmail(services.db, email);
  if (!user) throw new UsageError(`No user with email "${email}"`);
  const { password, generated } = await newPassword(values, readStdin, user);
  await services.accounts.setPassword(user.id, password, CONSOLE);
  out(
    `Password of ${user.email} reset; they were signed out, and a running server ends their support sessions within a second.`,
  );
  if (generated) out(`Password: ${password}\nShare it securely; it is not shown again.`);
  return 0;
}

async function userResetMfa(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { email: "string" });
  const email = required(values, "email");
  const user = await findUserByEmail(services.db, email);
  if (!user) throw new UsageError(`No user with email "${email}"`);
  await services.accounts.clearMfa(user.id, CONSOLE);
  out(
    `Two-factor authentication of ${user.email} removed; they were signed out (a running server ends their support sessions within a second) and can sign in with their password and set it up again.`,
  );
  return 0;
}

async function departmentCreate(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { name: "string" });
  const name = required(values, "name");
  if (name.length > 100) throw new UsageError("--name must be at most 100 characters");
  if (await findDepartmentByName(services.db, name)) {
    throw new UsageError(`A department named "${name}" already exists`);
  }
  const id = newId();
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    await insertDepartment(trx, { id, name, now });
    await appendAudit(trx, {
      at: now,
      action: "department.created",
      actor: CONSOLE,
      departmentId: id,
      detail: { name },
    });
  });
  out(`Created department ${name} (id ${id}).`);
  return 0;
}

async function departmentList(services: Services, out: (s: string) => void): Promise<number> {
  const departments = await listDepartments(services.db);
  if (departments.length === 0) {
    out("No departments yet. Create one with: assent admin department create --name NAME");
    return 0;
  }
  out(["ID", "NAME", "STATUS"].join("\t"));
  for (const d of departments) {
    out([d.id, d.name, d.disabled_at ? "disabled" : "active"].join("\t"));
  }
  return 0;
}

/** Parses "90m", "24h", "7d" into milliseconds. */
export function parseDuration(text: string): number | null {
  const m = text.trim().match(/^(\d+)\s*([mhd])$/);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  return n > 0 ? n * unit : null;
}

async function tokenCreate(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, {
    department: "string",
    group: "string",
    label: "string",
    expires: "string",
    uses: "string",
    server: "string",
  });
  const departmentName = required(values, "department");
  const department = await findDepartmentByName(services.db, departmentName);
  if (!department) throw new UsageError(`No department named "${departmentName}"`);
  let groupId: string | null = null;
  if (typeof values.group === "string") {
    const groups = await listGroups(services.db, [department.id]);
    const group = groups.find((g) => g.name.toLowerCase() === String(values.group).toLowerCase());
    if (!group) throw new UsageError(`No group named "${values.group}" in ${department.name}`);
    groupId = group.id;
  }
  const ttl = parseDuration(String(values.expires ?? "7d"));
  if (ttl === null || ttl > 366 * 86_400_000) {
    throw new UsageError(
      `--expires must look like 12h or 7d (at most a year), got "${values.expires}"`,
    );
  }
  const uses = Number(values.uses ?? 1);
  if (!Number.isInteger(uses) || uses < 1 || uses > 100_000) {
    throw new UsageError(`--uses must be a whole number from 1 to 100000, got "${values.uses}"`);
  }
  const now = services.clock.now();
  const { token } = await createEnrollmentToken(services.db, {
    label: String(values.label ?? `Console token for ${department.name}`),
    departmentId: department.id,
    groupId,
    expiresAt: now + ttl,
    maxUses: uses,
    now,
  }, CONSOLE);
  out(token);
  const server = String(values.server ?? "https://assent.example");
  out(
    `# on the device, in an unpacked agent package: ./assent-agent agent --server ${server} --enroll ${token}`,
  );
  out("# or the one-line install on Admin → Enrollment, which carries the package's SHA-256");
  return 0;
}

async function apiTokenCreate(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { email: "string", name: "string", expires: "string" });
  const email = required(values, "email");
  const name = required(values, "name");
  if (name.length > 100) throw new UsageError("--name must be at most 100 characters");
  const user = await findUserByEmail(services.db, email);
  if (!user) throw new UsageError(`No user with email "${email}"`);
  if (user.disabled_at !== null) throw new UsageError(`${user.email} is disabled`);
  const expires = String(values.expires ?? "90d");
  let expiresAt: number | null = null;
  if (expires !== "never") {
    const ttl = parseDuration(expires);
    if (ttl === null) {
      throw new UsageError(`--expires must look like 30d or 12h, or be never; got "${expires}"`);
    }
    expiresAt = services.clock.now() + ttl;
  }
  const { token } = await createApiToken(services.db, services.clock, {
    userId: user.id,
    name,
    expiresAt,
  }, CONSOLE);
  out(token);
  out(`# for ${user.email}; use it as: Authorization: Bearer ${token.slice(0, 8)}…`);
  return 0;
}

async function tokenList(services: Services, out: (s: string) => void): Promise<number> {
  const names = new Map((await listDepartments(services.db)).map((d) => [d.id, d.name]));
  const now = services.clock.now();
  const tokens = await listEnrollmentTokens(services.db, "all");
  if (tokens.length === 0) {
    out("No enrollment tokens.");
    return 0;
  }
  out(["ID", "LABEL", "DEPARTMENT", "USES", "EXPIRES", "STATE"].join("\t"));
  for (const t of tokens) {
    out([
      t.id,
      t.label,
      names.get(t.department_id) ?? "-",
      `${t.uses}/${t.max_uses}`,
      new Date(t.expires_at).toISOString(),
      tokenState(t, now),
    ].join("\t"));
  }
  return 0;
}

async function tokenRevoke(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { id: "string" });
  const id = required(values, "id");
  const token = await findEnrollmentToken(services.db, id);
  if (!token) throw new UsageError(`No enrollment token with id "${id}"`);
  const now = services.clock.now();
  await services.db.transaction().execute(async (trx) => {
    await revokeEnrollmentToken(trx, id, now);
    await appendAudit(trx, {
      at: now,
      action: "enrollment_token.revoked",
      actor: CONSOLE,
      departmentId: token.department_id,
      detail: { token: id, label: token.label },
    });
  });
  out(`Revoked enrollment token ${id} (${token.label}).`);
  return 0;
}

function fileArgument(args: string[], spec: Record<string, "string" | "boolean">, verb: string) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(
        Object.entries({ ...spec, "data-dir": "string" as const, config: "string" as const }).map((
          [k, t],
        ) => [k, {
          type: t,
        }]),
      ),
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0) throw new UsageError(`Name one file: assent admin ${verb} FILE`);
  return { file, values: parsed.values as Record<string, string | boolean | undefined> };
}

async function backup(dataDir: string, args: string[], out: (s: string) => void) {
  const { file } = fileArgument(args, {}, "backup");
  const dbPath = join(dataDir, "assent.db");
  try {
    await Deno.stat(dbPath);
  } catch {
    throw new UsageError(`There is no database at "${dbPath}" (check --data-dir)`);
  }
  const database = openDatabase(dbPath);
  try {
    const manifest = await createBackup({
      db: database.db,
      dataDir,
      target: file,
      now: systemClock.now(),
    });
    out(`Backup written to ${file}`);
    out(`  schema ${manifest.schema}, Assent ${manifest.version}, ${manifest.createdAt}`);
    for (const part of manifest.parts) out(`  ${part.name}  ${part.bytes} bytes  ${part.sha256}`);
    out("It holds the instance secret: keep it as safe as the server itself.");
    return 0;
  } finally {
    await database.close();
  }
}

async function restore(dataDir: string, args: string[], out: (s: string) => void) {
  const { file, values } = fileArgument(args, { replace: "boolean" }, "restore");
  const result = await restoreBackup({
    archive: file,
    dataDir,
    replace: values.replace === true,
    now: systemClock.now(),
  });
  out(`Restored ${file} (made ${result.manifest.createdAt}) into ${dataDir}`);
  if (result.setAside) out(`The files it replaced are in ${result.setAside}`);
  out("Start the server to bring the schema up to date and let agents reconnect.");
  return 0;
}

async function readAllStdin(): Promise<string> {
  return await new Response(Deno.stdin.readable).text();
}

async function auditVerify(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  options(args, {});
  const report = await services.auditChain.verify();
  out(describeReport(report));
  return report.intact ? 0 : 1;
}

async function auditCheckpoint(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  options(args, {});
  const checkpoint = await services.auditChain.checkpoint();
  out(
    checkpoint
      ? `Signed a checkpoint of row ${checkpoint.seq} (${checkpoint.hash}).`
      : "The audit log is empty; there is nothing to sign.",
  );
  return 0;
}

async function auditExport(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { out: "string" });
  const path = typeof values.out === "string" ? values.out : null;
  let file: Deno.FsFile | null = null;
  try {
    if (path) file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`${path} already exists; choose a new file name`);
    }
    throw err;
  }
  const encoder = new TextEncoder();
  let lines = 0;
  try {
    for await (const line of services.auditChain.bundle()) {
      const text = JSON.stringify(line);
      if (file) await writeAll(file, encoder.encode(text + "\n"));
      else out(text);
      lines += 1;
    }
  } finally {
    file?.close();
  }
  if (path) out(`Wrote ${lines} lines to ${path}.`);
  return 0;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}
