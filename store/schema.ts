/** Row types of the database, as the migrations leave it. Times are epoch milliseconds. */
import type { Generated } from "kysely";

export type Role = "super_admin" | "admin" | "technician";

export interface InstanceTable {
  id: number;
  organization_name: string;
  setup_completed_at: number;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  password_changed_at: number;
  disabled_at: number | null;
  totp_secret: string | null;
  totp_pending_secret: string | null;
  totp_enabled_at: number | null;
  totp_last_step: number | null;
  created_at: number;
  updated_at: number;
}

export interface RecoveryCodesTable {
  id: Generated<number>;
  user_id: string;
  code_hash: string;
  used_at: number | null;
  created_at: number;
}

export interface DepartmentsTable {
  id: string;
  name: string;
  disabled_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface UserDepartmentsTable {
  user_id: string;
  department_id: string;
}

export interface WebSessionsTable {
  id_hash: string;
  user_id: string;
  stage: "mfa" | "active";
  ip: string;
  user_agent: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  action: string;
  outcome: string | null;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  device_id: string | null;
  session_id: string | null;
  attempt_id: string | null;
  department_id: string | null;
  detail: string | null;
}

/** The whole schema, for `Kysely<Database>`. */
export interface Database {
  instance: InstanceTable;
  users: UsersTable;
  recovery_codes: RecoveryCodesTable;
  departments: DepartmentsTable;
  user_departments: UserDepartmentsTable;
  web_sessions: WebSessionsTable;
  audit_log: AuditLogTable;
}
