/**
 * Every migration, statically imported so a compiled binary carries them.
 * Names sort in the order they run; a landed migration is never edited, only followed.
 */
import type { Migration } from "kysely/migration";
import * as foundation from "./20261121T100000_foundation.ts";
import * as devices from "./20261121T110000_devices.ts";
import * as deviceConnected from "./20261121T113000_device_connected.ts";
import * as supportSessions from "./20261121T120000_support_sessions.ts";
import * as emailAuthorization from "./20261121T130000_email_authorization.ts";
import * as serviceDesk from "./20261121T140000_service_desk.ts";
import * as accessRevocations from "./20261201T100000_access_revocations.ts";
import * as rateLimits from "./20261201T110000_rate_limits.ts";
import * as deviceKeysAndFileReach from "./20261201T120000_device_keys_and_file_reach.ts";
import * as deviceMessages from "./20261201T130000_device_messages.ts";
import * as emailRequirements from "./20261201T140000_email_requirements.ts";
import * as agentUpdates from "./20261202T100000_agent_updates.ts";
import * as auditChain from "./20261202T100000_audit_chain.ts";
import * as approvalPolicies from "./20261202T110000_approval_policies.ts";
import * as terminalRecordings from "./20261202T110000_terminal_recordings.ts";
import * as operations from "./20261203T120000_operations.ts";
import * as webhooks from "./20261203T130000_webhooks.ts";
import * as consentCapabilities from "./20261204T100000_consent_capabilities.ts";
import * as organizationLanguage from "./20261204T100000_organization_language.ts";
import * as consentReceipts from "./20261204T110000_consent_receipts.ts";
import * as workspacePreference from "./20261204T120000_workspace_preference.ts";
import * as auditApiTokens from "./20261204T130000_audit_api_tokens.ts";
import * as perfPagesListIndexes from "./20261205T100020_perf_pages_list_indexes.ts";
import * as clusterPresence from "./20261206T100000_cluster_presence.ts";
import * as instanceKeys from "./20261206T110000_instance_keys.ts";

/** All migrations by name, in the order they run. */
export const migrations: Record<string, Migration> = {
  "20261121T100000_foundation": foundation,
  "20261121T110000_devices": devices,
  "20261121T113000_device_connected": deviceConnected,
  "20261121T120000_support_sessions": supportSessions,
  "20261121T130000_email_authorization": emailAuthorization,
  "20261121T140000_service_desk": serviceDesk,
  "20261201T100000_access_revocations": accessRevocations,
  "20261201T110000_rate_limits": rateLimits,
  "20261201T120000_device_keys_and_file_reach": deviceKeysAndFileReach,
  "20261201T130000_device_messages": deviceMessages,
  "20261201T140000_email_requirements": emailRequirements,
  "20261202T100000_agent_updates": agentUpdates,
  "20261202T100000_audit_chain": auditChain,
  "20261202T110000_approval_policies": approvalPolicies,
  "20261202T110000_terminal_recordings": terminalRecordings,
  "20261203T120000_operations": operations,
  "20261203T130000_webhooks": webhooks,
  "20261204T100000_consent_capabilities": consentCapabilities,
  "20261204T100000_organization_language": organizationLanguage,
  "20261204T110000_consent_receipts": consentReceipts,
  "20261204T120000_workspace_preference": workspacePreference,
  "20261204T130000_audit_api_tokens": auditApiTokens,
  "20261205T100020_perf_pages_list_indexes": perfPagesListIndexes,
  "20261206T100000_cluster_presence": clusterPresence,
  "20261206T110000_instance_keys": instanceKeys,
};
