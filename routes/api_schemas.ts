/**
 * The JSON API's request schemas, which validate every request, and the response schemas that
 * describe what comes back. routes/api.ts validates with the former; routes/openapi.ts turns
 * both into the OpenAPI document, so the document cannot drift from the validation.
 */
import * as z from "zod";
import {
  DEFAULT_SUPPORT_CODE_POLICY,
  REASON_MAX_LENGTH,
  supportCodeExpiryChoices,
} from "../core/mod.ts";

/** `GET /devices` query. */
export const ListQuery = z.object({
  q: z.string().trim().max(100, "q is at most 100 characters").default(""),
  status: z.enum(["all", "online", "offline"], { error: "status must be all, online or offline" })
    .default("all"),
  department: z.string().max(100).default(""),
  page: z.coerce.number({ error: "page must be a number" }).int("page must be a whole number")
    .min(1, "page must be at least 1").max(100_000).default(1),
});

/** `POST /devices/{id}/sessions` body. */
export const OpenBody = z.object({ asUser: z.string().max(256).nullable().default(null) })
  .strict();

/** `POST /sessions/{id}/authorize` body: the Secure Connect code or password, when asked. */
export const AuthorizeBody = z.object({
  code: z.string().trim().max(20, "code is too long").optional(),
  password: z.string().max(256).optional(),
  reason: z.string({ error: "reason must be text" }).max(1000, "reason is too long").optional(),
  /** What is asked for: desktop_view, desktop_control, terminal, files; absent: all of them. */
  capabilities: z.array(z.string().max(40), { error: "capabilities must be a list" })
    .max(8, "capabilities lists at most 8 entries").optional(),
}).strict();

/** `PUT /departments/{id}/confirmation` body: the fields to change; core checks each value. */
export const ConfirmationBody = z.object({
  mode: z.enum(["off", "notify", "confirm"], { error: "mode must be off, notify or confirm" })
    .optional(),
  capabilities: z.array(z.string().max(40), { error: "capabilities must be a list" }).max(8)
    .optional(),
  nobodyToAsk: z.enum(["proceed", "refuse"], { error: "nobodyToAsk must be proceed or refuse" })
    .optional(),
  offerWindows: z.boolean({ error: "offerWindows must be true or false" }).optional(),
  message: z.string({ error: "message must be text" }).max(1000, "message is too long").optional(),
  timeoutSeconds: z.number({ error: "timeoutSeconds must be a number" }).optional(),
  showOnLockedAndLoggedOff: z.boolean({ error: "showOnLockedAndLoggedOff must be true or false" })
    .optional(),
}).strict();

/**
 * `PUT /devices|groups/{id}/email-authorization` body. Without `timeoutSeconds` the default
 * applies (for an escalation, the sum of its tiers' timeouts).
 */
export const EmailBody = z.object({
  required: z.boolean({ error: "required must be true or false" }),
  recipients: z.array(z.string().max(254)).max(20, "at most 20 recipients"),
  timeoutSeconds: z.number({ error: "timeoutSeconds must be a number" }).int().optional(),
  // Checked in full by core's constructor, which names the field in its error.
  approval: z.object({
    kind: z.enum(["first", "quorum", "escalation"], {
      error: 'approval.kind must be "first", "quorum" or "escalation"',
    }),
    allows: z.number().int().optional(),
    denies: z.number().int().optional(),
    tiers: z.array(
      z.object({
        recipients: z.array(z.string().max(254)).max(20, "at most 20 recipients per tier"),
        timeoutSeconds: z.number().int(),
      }).strict(),
    ).max(5, "at most 5 tiers").optional(),
  }).strict().optional(),
}).strict();

/** `POST /support-sessions` body. */
export const SupportBody = z.object({
  departmentId: z.string().min(1).max(64),
  customerName: z.string().trim().max(120, "customerName is at most 120 characters")
    .nullable().default(null),
  customerEmail: z.email("customerEmail must be an email address").max(254).nullable()
    .default(null),
  ticket: z.string().trim().max(80, "ticket is at most 80 characters").nullable().default(null),
  expiryMinutes: z.number({ error: "expiryMinutes must be a number" }).int()
    .refine(
      (m) => supportCodeExpiryChoices().some((c) => c.minutes === m),
      `expiryMinutes must be one of ${supportCodeExpiryChoices().map((c) => c.minutes).join(", ")}`,
    )
    .default(DEFAULT_SUPPORT_CODE_POLICY.expiryMinutes),
  sendEmail: z.boolean({ error: "sendEmail must be true or false" }).default(false),
}).strict();

/** `POST /approvals/{id}` body. */
export const DecisionBody = z.object({
  decision: z.enum(["allow", "deny"], { error: 'decision must be "allow" or "deny"' }),
  comment: z.string({ error: "comment must be text" }).max(
    REASON_MAX_LENGTH,
    `comment is at most ${REASON_MAX_LENGTH} characters`,
  ).optional(),
}).strict();

// --- responses (described loosely where the web UI's models may grow fields)

/** Every error. */
export const ErrorResponse = z.object({
  error: z.string().describe("What went wrong, in plain words"),
  code: z.string().optional().describe("A machine-readable code (see docs/api.md)"),
  fields: z.array(z.object({
    field: z.string().describe("The field of the request body, e.g. timeoutSeconds"),
    message: z.string().describe("What is wrong with it, in the words the web form uses"),
  })).optional().describe("Every refused field of a refused setting, when there are any"),
}).loose();

const Device = z.looseObject({
  id: z.string(),
  name: z.string(),
  online: z.boolean(),
  disabled: z.boolean(),
  lastActivityAt: z.number().nullable(),
  os: z.string().nullable(),
  department: z.string(),
  capabilities: z.array(z.string()),
});

/** `GET /devices`. */
export const DeviceListResponse = z.object({
  devices: z.array(Device),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
});

/** `GET /devices/{id}`. */
export const DeviceResponse = z.object({ device: Device });

const Session = z.looseObject({
  id: z.string(),
  deviceId: z.string(),
  asUser: z.string().nullable(),
  openedAt: z.number(),
  status: z.enum(["unauthorized", "authorizing", "authorized", "closed"]),
  actions: z.record(z.string(), z.unknown()),
  lastOutcome: z.looseObject({
    outcome: z.string().describe("A machine-readable reason code, e.g. declined or deauthorized"),
    heading: z.string(),
    reason: z.string(),
    by: z.string().nullable().describe("Who ended it: a user id, or an approver's address"),
    byName: z.string().nullable().describe("The name of that user, when they have an account"),
    at: z.number(),
  }).nullable().optional().describe("How the last authorization attempt ended (unauthorized only)"),
  /** While authorized: what the authorization allows (desktop_view, desktop_control, terminal, files). */
  capabilities: z.array(z.string()).optional(),
  /** While authorized: notify mode told the end user, nobody answered. */
  notified: z.boolean().optional(),
});

/** `GET|PUT /departments/{id}/confirmation`: a department's Session Confirmation settings. */
export const ConfirmationResponse = z.object({
  mode: z.enum(["off", "notify", "confirm"]),
  capabilities: z.array(z.enum(["desktop_view", "desktop_control", "terminal", "files"])),
  nobodyToAsk: z.enum(["proceed", "refuse"]),
  offerWindows: z.boolean(),
  message: z.string(),
  timeoutSeconds: z.number().int(),
  showOnLockedAndLoggedOff: z.boolean(),
  excludedDeviceIds: z.array(z.string()),
  excludedGroupIds: z.array(z.string()),
});

/** A support session (unattended), as `GET /sessions/{id}` and the actions return it. */
export const SessionResponse = z.looseObject({ session: Session });

const EmailPolicy = z.looseObject({
  required: z.boolean(),
  recipients: z.array(z.string()),
  timeoutSeconds: z.number().int(),
  approval: z.looseObject({ kind: z.enum(["first", "quorum", "escalation"]) }).optional(),
}).nullable();

/** `GET|PUT|DELETE …/email-authorization`. */
export const EmailPolicyResponse = z.looseObject({
  own: EmailPolicy,
  effective: z.looseObject({ required: z.boolean(), timeoutSeconds: z.number() }).optional(),
});

const SupportSession = z.looseObject({
  id: z.string(),
  code: z.string(),
  formattedCode: z.string(),
  link: z.string(),
  state: z.unknown(),
  customerName: z.string().nullable(),
  customerEmail: z.string().nullable(),
  ticket: z.string().nullable(),
  departmentId: z.string(),
  deviceId: z.string(),
  expiresAt: z.number(),
  createdAt: z.number(),
});

/** `GET /support-sessions`. */
export const SupportListResponse = z.object({ supportSessions: z.array(SupportSession) });

/** One Service Desk support session. */
export const SupportResponse = z.looseObject({ supportSession: SupportSession });

/** `GET /authorizations/active`: the authorizations in force the caller may oversee. */
export const ActiveAuthorizationsResponse = z.object({
  authorizations: z.array(z.object({
    sessionId: z.string(),
    deviceId: z.string(),
    deviceName: z.string(),
    departmentId: z.string(),
    departmentName: z.string(),
    technician: z.object({ id: z.string(), name: z.string(), email: z.string() }),
    asUser: z.string().nullable(),
    authorizedAt: z.number(),
    expiresAt: z.number(),
    secondsLeft: z.number().int(),
    channels: z.number().int(),
  })),
});

/** `GET /approvals`. */
export const ApprovalListResponse = z.object({ approvals: z.array(z.looseObject({})) });

/** `POST /approvals/{id}`. */
export const DecisionResponse = z.object({ result: z.looseObject({ kind: z.string() }) });

/** `GET /sessions/{id}/receipts`: the consent receipts of the session's ended authorizations. */
export const ReceiptListResponse = z.object({
  receipts: z.array(z.looseObject({
    id: z.string(),
    sessionId: z.string(),
    attemptId: z.string(),
    deviceName: z.string(),
    technician: z.string(),
    organization: z.string(),
    startedAt: z.number(),
    endedAt: z.number(),
    outcome: z.string().describe("How it ended, as a reason code (e.g. ended_at_device)"),
    ending: z.string().describe("How it ended, in the end user's words"),
    channels: z.array(z.looseObject({
      kind: z.enum(["screen", "terminal", "files"]),
      openedAt: z.number(),
      durationMs: z.number(),
    })),
    files: z.array(z.looseObject({
      name: z.string(),
      size: z.number(),
      direction: z.enum(["to_device", "from_device"]),
      sha256: z.string().nullable(),
      completed: z.boolean(),
    })),
    text: z.string().describe("The receipt as the end user gets it"),
  })).describe("Newest first"),
});

/** `GET /audit`. */
export const AuditResponse = z.object({
  events: z.array(z.looseObject({
    id: z.number().int(),
    at: z.number(),
    action: z.string(),
    outcome: z.string().nullable(),
    actor: z.looseObject({ kind: z.string() }),
    deviceId: z.string().nullable(),
    sessionId: z.string().nullable(),
    detail: z.record(z.string(), z.unknown()),
  })),
  next: z.number().nullable().describe("Pass as `before` for the next page; null at the end"),
});
