/** Row types of the database, as the migrations leave it. Times are epoch milliseconds. */
import type { Generated } from "kysely";

export type Role = "super_admin" | "admin" | "technician";

export interface InstanceTable {
  id: number;
  organization_name: string;
  setup_completed_at: number;
  /** The language of mail to people without an account (approvers), e.g. "de". */
  default_locale: Generated<string>;
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
  /** 1: stay on the device page when a request is authorized; 0: open the workspace. */
  stay_on_panel: Generated<number>;
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
  /** Place in the hash chain: the order rows were written (unique). */
  seq: number;
  /** The previous row's hash (64 zeros for the first), and this row's (core/audit_chain.ts). */
  prev_hash: string;
  hash: string;
  /** The API token the actor acted through, and its name then; null otherwise. */
  api_token_id: string | null;
  api_token_name: string | null;
}

export interface RecordingsTable {
  id: string;
  session_id: string;
  device_id: string;
  department_id: string;
  technician_id: string;
  channel: string;
  started_at: number;
  ended_at: number | null;
  bytes: number | null;
  sha256: string | null;
  delete_after: number;
  deleted_at: number | null;
}

export interface AuditCheckpointsTable {
  id: Generated<number>;
  seq: number;
  hash: string;
  at: number;
  signature: string;
  public_key: string;
}

export interface DeviceGroupsTable {
  id: string;
  department_id: string;
  name: string;
  created_at: number;
}

export interface EnrollmentTokensTable {
  id: string;
  token_hash: string;
  label: string;
  department_id: string;
  group_id: string | null;
  expires_at: number;
  max_uses: number;
  uses: Generated<number>;
  revoked_at: number | null;
  created_by: string | null;
  created_at: number;
}

export interface DevicesTable {
  id: string;
  secret_hash: string;
  department_id: string;
  group_id: string | null;
  name: string;
  serial_number: string | null;
  os: string | null;
  os_family: string | null;
  model: string | null;
  device_type: string | null;
  /** JSON array of strings. */
  ip_addresses: Generated<string>;
  /** JSON array of LoggedInUser. */
  users: Generated<string>;
  locked: number | null;
  logged_off: number | null;
  /** JSON array of capabilities. */
  capabilities: Generated<string>;
  /** JSON of the device owner's local email-authorization setting, if reported. */
  local_email_authorization: string | null;
  agent_version: string | null;
  platform: string | null;
  remote_address: string | null;
  last_activity_at: number | null;
  /** 1 while the agent holds a live connection (kept by the hub; reset at start-up). */
  connected: Generated<number>;
  /** The node that holds the live connection; null while there is none. */
  node_id: string | null;
  /** "agent" for enrolled devices; "support" for a support app's computer (R6). */
  kind: Generated<"agent" | "support">;
  disabled_at: number | null;
  enrollment_token_id: string | null;
  enrolled_at: number;
  updated_at: number;
  /** The device's Ed25519 public key (base64url); null until its first hello with a key. */
  public_key: string | null;
  key_registered_at: number | null;
  /** JSON of the agent's TransferFolders, if reported. */
  transfer_folders: string | null;
  /** Where this device's consent receipts are mailed; set by an admin. */
  contact_email: string | null;
}

export interface DepartmentPoliciesTable {
  department_id: string;
  confirmation: string;
  secure_connect: string;
  authorization: string;
  /** JSON of core's FileTransferPolicy. */
  file_transfer: Generated<string>;
  /** JSON of core's RecordingPolicy; null is the default. */
  recording: string | null;
  updated_at: number;
  updated_by: string | null;
}

export interface PolicyExclusionsTable {
  id: Generated<number>;
  department_id: string;
  policy: "confirmation" | "secure_connect";
  target_kind: "device" | "group";
  target_id: string;
  excluded_by: string;
  created_at: number;
}

export interface SupportSessionsTable {
  id: string;
  device_id: string;
  technician_id: string;
  status: "unauthorized" | "authorizing" | "authorized" | "closed";
  state: string;
  wake_at: number | null;
  dismissed_attempt_id: string | null;
  opened_at: number;
  updated_at: number;
}

export interface SecureConnectWindowsTable {
  technician_id: string;
  device_id: string;
  verified_at: number;
  method: string;
}

export interface ApiTokensTable {
  id: string;
  user_id: string;
  name: string;
  token_hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface EmailPoliciesTable {
  target_kind: "device" | "group";
  target_id: string;
  required: number;
  recipients: string;
  timeout_seconds: number;
  /** JSON of core's `ApprovalPolicy`; NULL means `first`. */
  approval: string | null;
  updated_at: number;
  updated_by: string;
}

export interface EmailRequestsTable {
  id: string;
  token_hash: string;
  session_id: string;
  attempt_id: string;
  device_id: string;
  recipient: string;
  created_at: number;
  deadline: number;
  first_viewed_at: number | null;
  used_at: number | null;
  withdrawn_at: number | null;
}

export interface OutboxTable {
  id: Generated<number>;
  kind: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  related_id: string | null;
  status: "pending" | "sent" | "logged" | "failed" | "cancelled";
  attempts: Generated<number>;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

export interface SupportCodesTable {
  id: string;
  code: string;
  device_id: string;
  department_id: string;
  technician_id: string;
  customer_name: string | null;
  customer_email: string | null;
  ticket: string | null;
  status: "waiting" | "bound" | "closed" | "deleted" | "expired";
  state: string;
  wake_at: number | null;
  expires_at: number;
  link_sent_at: number | null;
  app_platform: string | null;
  app_address: string | null;
  app_seen_at: number | null;
  created_at: number;
  updated_at: number;
}

/** Access taken away, waiting for the server to end the support sessions it covers. */
export interface AccessRevocationsTable {
  id: Generated<number>;
  subject_kind: "user" | "department" | "device";
  subject_id: string;
  cause: string;
  actor_kind: string;
  actor_id: string | null;
  actor_label: string | null;
  created_at: number;
  processed_at: number | null;
}

/** What a device must hear and acknowledge: a revoke or a prompt withdrawal. */
export interface DeviceMessagesTable {
  seq: Generated<number>;
  id: string;
  device_id: string;
  kind: "revoke" | "prompt_withdraw" | "receipt";
  subject: string;
  session_id: string | null;
  attempt_id: string | null;
  message: string;
  created_at: number;
}

/** A prompt shown on a device, and the session and attempt it asked for. */
export interface DevicePromptsTable {
  id: string;
  device_id: string;
  session_id: string;
  attempt_id: string;
  created_at: number;
}

/** A rate-limit counter: core's `RateLimit` for one rule and key. */
export interface RateLimitsTable {
  rule: string;
  key: string;
  /** JSON list of epoch ms: failures and tries not yet settled. */
  failures: string;
  expires_at: number;
}

/** The whole schema, for `Kysely<Database>`. */
/** A receiver of webhook events. */
export interface WebhooksTable {
  id: string;
  url: string;
  secret_sealed: string;
  events: string;
  created_at: number;
  created_by: string | null;
  disabled_at: number | null;
  disabled_reason: string | null;
  failures_in_a_row: Generated<number>;
}

/** One event on its way to one webhook, and how its attempts went. */
export interface WebhookDeliveriesTable {
  id: Generated<number>;
  webhook_id: string;
  event: string;
  payload: string;
  status: "pending" | "delivered" | "failed" | "dropped";
  attempts: Generated<number>;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  response_code: number | null;
  last_error: string | null;
  created_at: number;
}

/** The readiness check's one row. */
export interface HealthProbeTable {
  id: number;
  checked_at: number;
}

/** A running server among those sharing the database (a node of the cluster). */
export interface NodesTable {
  id: string;
  /** Where other nodes reach it for relayed channels. */
  internal_url: string;
  started_at: number;
  heartbeat_at: number;
}

/** The fingerprint of a key the database was first used with (`secret`, `audit`). */
export interface InstanceKeysTable {
  name: string;
  fingerprint: string;
  recorded_at: number;
}

export interface Database {
  instance: InstanceTable;
  instance_keys: InstanceKeysTable;
  users: UsersTable;
  recovery_codes: RecoveryCodesTable;
  departments: DepartmentsTable;
  user_departments: UserDepartmentsTable;
  web_sessions: WebSessionsTable;
  audit_log: AuditLogTable;
  audit_checkpoints: AuditCheckpointsTable;
  recordings: RecordingsTable;
  device_groups: DeviceGroupsTable;
  enrollment_tokens: EnrollmentTokensTable;
  devices: DevicesTable;
  nodes: NodesTable;
  department_policies: DepartmentPoliciesTable;
  policy_exclusions: PolicyExclusionsTable;
  support_sessions: SupportSessionsTable;
  secure_connect_windows: SecureConnectWindowsTable;
  api_tokens: ApiTokensTable;
  email_policies: EmailPoliciesTable;
  email_requests: EmailRequestsTable;
  outbox: OutboxTable;
  support_codes: SupportCodesTable;
  access_revocations: AccessRevocationsTable;
  device_messages: DeviceMessagesTable;
  device_prompts: DevicePromptsTable;
  rate_limits: RateLimitsTable;
  agent_update_holds: AgentUpdateHoldsTable;
  agent_updates: AgentUpdatesTable;
  health_probe: HealthProbeTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  consent_receipts: ConsentReceiptsTable;
}

/** The consent receipt of one ended authorization (see core/consent_receipt.ts). */
export interface ConsentReceiptsTable {
  id: string;
  session_id: string;
  attempt_id: string;
  device_id: string;
  department_id: string | null;
  technician_id: string;
  technician_name: string;
  organization: string;
  device_name: string;
  authorized_at: number;
  ended_at: number;
  outcome: string;
  status: "pending" | "complete";
  /** JSON of ReceiptBody; null while pending. */
  body: string | null;
  recipient: string | null;
  created_at: number;
  completed_at: number | null;
}

/** A department whose devices are not offered agent updates. */
export interface AgentUpdateHoldsTable {
  department_id: string;
  held_by: string;
  held_at: number;
}

/** The last update offered to a device and what its agent reported. */
export interface AgentUpdatesTable {
  device_id: string;
  version: string;
  sha256: string | null;
  state: string;
  updated_at: number;
}
