/**
 * `assent admin …`: console administration on the data directory, for scripted roll-outs
 * and for the way back in when the only super admin has lost their authenticator.
 * Every change is audited with the console as the actor.
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { systemClock } from "../lib/clock.ts";
import { resolveSettings } from "../lib/config.ts";
import { passwordProblem } from "../lib/password.ts";
import { AccountError } from "../services/accounts.ts";
import { CONSOLE_OPERATOR, DirectoryError, type Role, ROLES } from "../services/directory.ts";
import type { Services } from "../services/mod.ts";
import { randomToken } from "../lib/tokens.ts";
import { EnrollmentError, MAX_TOKEN_LIFETIME_MS } from "../services/enrollment.ts";
import { BackupError, restoreBackup } from "../services/backup.ts";
import { describeReport } from "../services/audit_chain.ts";

const HELP = `Console administration. Works on the data directory (--data-dir, ASSENT_DATA_DIR,
data-dir in the --config file, default ./data) and the server's database (--database,
ASSENT_DATABASE_URL, database in the --config file; default the SQLite file in the data
directory); safe to run while the server is running.

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

/** How the console reaches the services of a data directory (`main.ts` provides it). */
export type OpenServices = (
  dataDir: string,
  /** A PostgreSQL URL, or undefined for the SQLite file in the data directory. */
  database?: string,
) => Promise<{ services: Services; close(): Promise<void> }>;

/** Where the console writes and reads. */
export interface ConsoleIo {
  out: (s: string) => void;
  err: (s: string) => void;
  stdin?: () => Promise<string>;
}

const STANDARD_IO: ConsoleIo = { out: (s) => console.log(s), err: (s) => console.error(s) };

/** Runs an admin command; returns the exit code. */
export async function runAdmin(
  args: string[],
  open: OpenServices,
  io: ConsoleIo = STANDARD_IO,
): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: false,
    options: {
      "data-dir": { type: "string" },
      database: { type: "string" },
      config: { type: "string" },
    },
  });
  const [group, command] = positionals;
  if (!group || group === "help" || values.help) {
    io.out(HELP);
    return group ? 0 : 2;
  }
  // The same data directory the server uses: flag, environment, config file, default.
  const configArgs = typeof values.config === "string" ? ["--config", values.config] : [];
  const settings = resolveSettings(configArgs).settings;
  const dataDir = (values["data-dir"] as string | undefined) ?? settings["data-dir"].value;
  // The server's database: flag, ASSENT_DATABASE_URL (or its -file form), config file.
  const database = (values.database as string | undefined) ??
    (settings.database.value || undefined);
  if (database !== undefined && !/^postgres(ql)?:\/\/[^/]/i.test(database)) {
    io.err("assent admin: --database must be a postgres:// URL");
    return 2;
  }
  if (group === "backup" || group === "restore") {
    if (database !== undefined) {
      io.err(
        `assent admin: ${group} works on the SQLite file; with a PostgreSQL database use ` +
          (group === "backup" ? "pg_dump" : "pg_restore") + " instead",
      );
      return 2;
    }
    try {
      const rest = args.filter((a) => a !== group);
      return group === "backup"
        ? await backup(dataDir, open, rest, io.out)
        : await restore(dataDir, rest, io.out);
    } catch (err) {
      if (err instanceof UsageError || err instanceof BackupError) {
        io.err(`assent admin: ${err.message}`);
        return err instanceof UsageError ? 2 : 1;
      }
      throw err;
    }
  }
  const opened = await open(dataDir, database);
  const services = opened.services;
  try {
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
    if (
      err instanceof UsageError || err instanceof AccountError ||
      err instanceof DirectoryError || err instanceof EnrollmentError
    ) {
      io.err(`assent admin: ${err.message}`);
      return err instanceof UsageError ? 2 : 1;
    }
    throw err;
  } finally {
    await opened.close();
  }
}

type OptionKinds = Record<string, "string" | "boolean" | "multiple">;

/**
 * `--id -x…` as `--id=-x…`. Ids are base64url, so one in 64 begins with a dash, and the parser
 * would take such a value for an option and refuse it. A value that names one of the console's
 * own options is left alone, so a forgotten value is still reported as one.
 */
function dashedValues(args: string[], kinds: OptionKinds): string[] {
  const named = (arg: string) =>
    arg.startsWith("--") ? kinds[arg.slice(2).split("=")[0]!] : undefined;
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const next = args[i + 1];
    const takesValue = !arg.includes("=") && (named(arg) ?? "boolean") !== "boolean";
    if (takesValue && next?.startsWith("-") && named(next) === undefined) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

function options(args: string[], spec: OptionKinds) {
  const kinds: OptionKinds = {
    ...spec,
    "data-dir": "string",
    database: "string",
    config: "string",
  };
  try {
    return parseArgs({
      args: dashedValues(args, kinds),
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        Object.entries(kinds).map(([k, t]) => [
          k,
          t === "multiple" ? { type: "string" as const, multiple: true } : { type: t },
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
  const users = await services.directory.users(CONSOLE_OPERATOR);
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
      u.mfaEnabled ? "on" : "off",
      u.disabled ? "disabled" : "active",
      u.departments.join(", ") || "-",
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
  const email = required(values, "email");
  const name = required(values, "name");
  const role = required(values, "role");
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new UsageError(`--role must be super_admin, admin or technician, got "${role}"`);
  }
  const departmentIds: string[] = [];
  for (const name of (values.department as string[] | undefined) ?? []) {
    departmentIds.push((await departmentNamed(services, name)).id);
  }
  const { password, generated } = await newPassword(values, readStdin, { email, name });
  // The same use case as the admin pages, with the same checks, as a super admin would.
  const { directory, accounts } = services;
  const id = await directory.createUser(CONSOLE_OPERATOR, {
    email,
    name,
    role: role as Role,
    departmentIds,
    password,
  });
  const created = (await directory.user(CONSOLE_OPERATOR, id)).user;
  out(`Created ${role} ${created.email} (id ${id}).`);
  if (role === "super_admin") {
    // A console-made super admin is the first-run setup of scripted installs.
    const organization = String(values.organization ?? "Assent");
    if (await accounts.completeSetupFromConsole(organization, CONSOLE)) {
      out(`First-run setup completed for "${organization}".`);
    }
  }
  if (generated) out(`Password: ${password}\nShare it securely; it is not shown again.`);
  return 0;
}

/** A department by its name (any case), or a usage error naming it. */
async function departmentNamed(
  services: Services,
  name: string,
): Promise<{ id: string; name: string }> {
  const departments = await services.directory.departments(CONSOLE_OPERATOR);
  const found = departments.find((d) => d.name.toLowerCase() === name.trim().toLowerCase());
  if (!found) throw new UsageError(`No department named "${name}"`);
  return found;
}

async function userResetPassword(
  services: Services,
  args: string[],
  out: (s: string) => void,
  readStdin: () => Promise<string>,
): Promise<number> {
  const values = options(args, { email: "string", "password-stdin": "boolean" });
  const user = await userByEmail(services, required(values, "email"));
  const { password, generated } = await newPassword(values, readStdin, user);
  await services.directory.resetUserPassword(CONSOLE_OPERATOR, user.id, password);
  out(
    `Password of ${user.email} reset; they were signed out, and a running server ends their support sessions within a second.`,
  );
  if (generated) out(`Password: ${password}\nShare it securely; it is not shown again.`);
  return 0;
}

/** A user by email, or a usage error naming the address. */
async function userByEmail(services: Services, email: string) {
  try {
    return await services.directory.userByEmail(CONSOLE_OPERATOR, email);
  } catch (err) {
    if (err instanceof DirectoryError && err.status === 404) throw new UsageError(err.message);
    throw err;
  }
}

async function userResetMfa(
  services: Services,
  args: string[],
  out: (s: string) => void,
): Promise<number> {
  const values = options(args, { email: "string" });
  const user = await userByEmail(services, required(values, "email"));
  await services.directory.resetUserMfa(CONSOLE_OPERATOR, user.id);
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
  const id = await services.directory.createDepartment(CONSOLE_OPERATOR, {
    name: required(values, "name"),
  });
  const { department } = await services.directory.department(CONSOLE_OPERATOR, id);
  out(`Created department ${department.name} (id ${id}).`);
  return 0;
}

async function departmentList(services: Services, out: (s: string) => void): Promise<number> {
  const departments = await services.directory.departments(CONSOLE_OPERATOR);
  if (departments.length === 0) {
    out("No departments yet. Create one with: assent admin department create --name NAME");
    return 0;
  }
  out(["ID", "NAME", "STATUS"].join("\t"));
  for (const d of departments) {
    out([d.id, d.name, d.disabled ? "disabled" : "active"].join("\t"));
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
  const department = await departmentNamed(services, required(values, "department"));
  const { enrollment } = services;
  let groupId: string | null = null;
  if (typeof values.group === "string") {
    const groups = await enrollment.groups(CONSOLE_OPERATOR, department.id);
    const group = groups.find((g) => g.name.toLowerCase() === String(values.group).toLowerCase());
    if (!group) throw new UsageError(`No group named "${values.group}" in ${department.name}`);
    groupId = group.id;
  }
  const ttl = parseDuration(String(values.expires ?? "7d"));
  if (ttl === null || ttl > MAX_TOKEN_LIFETIME_MS) {
    throw new UsageError(
      `--expires must look like 12h or 7d (at most a year), got "${values.expires}"`,
    );
  }
  const uses = Number(values.uses ?? 1);
  if (!Number.isInteger(uses) || uses < 1 || uses > 100_000) {
    throw new UsageError(`--uses must be a whole number from 1 to 100000, got "${values.uses}"`);
  }
  const { token } = await enrollment.createToken(CONSOLE_OPERATOR, {
    label: String(values.label ?? `Console token for ${department.name}`),
    departmentId: department.id,
    groupId,
    expiresInMs: ttl,
    maxUses: uses,
  });
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
  const name = required(values, "name");
  if (name.length > 100) throw new UsageError("--name must be at most 100 characters");
  const user = await userByEmail(services, required(values, "email"));
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
  const { token } = await services.apiTokens.create({
    userId: user.id,
    name,
    expiresAt,
  }, CONSOLE);
  out(token);
  out(`# for ${user.email}; use it as: Authorization: Bearer ${token.slice(0, 8)}…`);
  return 0;
}

async function tokenList(services: Services, out: (s: string) => void): Promise<number> {
  const tokens = await services.enrollment.tokens(CONSOLE_OPERATOR);
  if (tokens.length === 0) {
    out("No enrollment tokens.");
    return 0;
  }
  out(["ID", "LABEL", "DEPARTMENT", "USES", "EXPIRES", "STATE"].join("\t"));
  for (const t of tokens) {
    out([
      t.id,
      t.label,
      t.department,
      `${t.uses}/${t.maxUses}`,
      new Date(t.expiresAt).toISOString(),
      t.state,
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
  try {
    const { label } = await services.enrollment.revokeToken(CONSOLE_OPERATOR, id);
    out(`Revoked enrollment token ${id} (${label}).`);
  } catch (err) {
    if (err instanceof EnrollmentError && err.status === 404) {
      throw new UsageError(`No enrollment token with id "${id}"`);
    }
    throw err;
  }
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
        Object.entries({
          ...spec,
          "data-dir": "string" as const,
          database: "string" as const,
          config: "string" as const,
        }).map((
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

async function backup(
  dataDir: string,
  open: OpenServices,
  args: string[],
  out: (s: string) => void,
) {
  const { file } = fileArgument(args, {}, "backup");
  const dbPath = join(dataDir, "assent.db");
  try {
    await Deno.stat(dbPath);
  } catch {
    throw new UsageError(`There is no database at "${dbPath}" (check --data-dir)`);
  }
  const opened = await open(dataDir);
  try {
    const manifest = await opened.services.backups.write(file);
    out(`Backup written to ${file}`);
    out(`  schema ${manifest.schema}, Assent ${manifest.version}, ${manifest.createdAt}`);
    for (const part of manifest.parts) out(`  ${part.name}  ${part.bytes} bytes  ${part.sha256}`);
    out("It holds the instance secret: keep it as safe as the server itself.");
    return 0;
  } finally {
    await opened.close();
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
