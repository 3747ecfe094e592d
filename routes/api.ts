/**
 * The JSON API, /api/v1: the same operations as the UI (devices, support sessions, audit),
 * authenticated by per-user bearer tokens and bound by the same role, department and Secure
 * Connect rules. Errors are `{ "error": "…", "code": "…" }` with a fitting status.
 */
import { Hono } from "hono";
import * as z from "zod";
import {
  allowedActions,
  type ApprovalPolicy,
  approverComment,
  type ConfirmationPolicy,
  DEFAULT_EMAIL_AUTHORIZATION_POLICY,
  type EmailAuthorizationPolicy,
  type EmailGatePolicy,
  isCoreError,
  receiptEnding,
  receiptText,
  sessionView,
  type SupportSession,
} from "../core/mod.ts";
import { withApiToken } from "../lib/attribution.ts";
import type { Device } from "../services/devices.ts";
import { EnrollmentError } from "../services/enrollment.ts";
import { deviceModel } from "../presenters/device_views.ts";
import { loadNames } from "../services/device_facts.ts";
import { type RequestResult, SessionError } from "../services/sessions.ts";
import {
  type EmailPolicyInput,
  ownEmailPolicy,
  policyMessage,
} from "../services/email_settings.ts";
import type { ConfirmationSettings } from "../services/consent_settings.ts";
import type { AppEnv, Ctx } from "./env.ts";
import { formBody } from "./middleware/form_body.ts";
import { setupGate } from "./middleware/setup_gate.ts";
import { currentUser } from "./env.ts";
import { parseWith } from "./forms.ts";
import { readAuditRequest } from "./audit.tsx";
import { jsonErrors } from "./errors.tsx";
import {
  AuthorizeBody,
  ConfirmationBody,
  DecisionBody,
  EmailBody,
  ListQuery,
  OpenBody,
  SupportBody,
} from "./api_schemas.ts";

/** A JSON error response. */
function fail(
  c: Ctx,
  status: 400 | 401 | 403 | 404 | 409 | 429,
  code: string,
  error: string,
  extra = {},
) {
  return c.json({ error, code, ...extra }, status);
}

async function body<S extends z.ZodType>(c: Ctx, schema: S): Promise<z.infer<S> | Response> {
  let json: unknown = {};
  const text = await c.req.text();
  if (text.trim() !== "") {
    try {
      json = JSON.parse(text);
    } catch {
      return fail(c, 400, "invalid_json", "The request body is not valid JSON");
    }
  }
  const parsed = parseWith(schema, json);
  return parsed.ok ? parsed.data : fail(c, 400, "invalid_request", parsed.message);
}

/** The email-authorization setting an API body asks for; the timeout defaults as the form's. */
function emailPolicyOf(input: z.infer<typeof EmailBody>): EmailPolicyInput {
  return {
    required: input.required,
    recipients: input.recipients,
    timeoutSeconds: input.timeoutSeconds ??
      (input.approval?.kind === "escalation"
        ? (input.approval.tiers ?? []).reduce((t, tier) => t + tier.timeoutSeconds, 0)
        : DEFAULT_EMAIL_AUTHORIZATION_POLICY.timeoutSeconds),
    ...(input.approval ? { approval: input.approval as ApprovalPolicy } : {}),
  };
}

/** A department's confirmation settings as API clients see them. */
export function confirmationJson(policy: ConfirmationPolicy) {
  return {
    mode: policy.mode,
    capabilities: policy.capabilities,
    nobodyToAsk: policy.nobodyToAsk,
    offerWindows: policy.offerWindows,
    message: policy.message,
    timeoutSeconds: policy.timeoutSeconds,
    showOnLockedAndLoggedOff: policy.showOnLockedAndLoggedOff,
    excludedDeviceIds: policy.excludedDeviceIds,
    excludedGroupIds: policy.excludedGroupIds,
  };
}

/** The session as API clients see it. */
export function sessionJson(
  session: SupportSession,
  device: Device,
  online: { now: number; actions: ReturnType<typeof allowedActions>; byName?: string | null },
) {
  const view = sessionView(session, online.now, { deviceName: device.name });
  const base = {
    id: session.id,
    deviceId: session.deviceId,
    asUser: session.asUser,
    openedAt: session.openedAt,
    status: view.kind,
    actions: online.actions,
  };
  switch (view.kind) {
    case "authorizing":
      return {
        ...base,
        waitingFor: Object.entries(view.waitingFor).filter(([, v]) => v).map(([k]) => k),
        waitingForApproval: view.waitingApprovals.map((r) => ({
          source: r.source,
          recipients: r.recipients,
        })),
        reason: view.reason,
        approvals: view.approvals.map((p) => ({
          source: p.source,
          rule: p.rule,
          allows: p.allows,
          allowsNeeded: p.allowsNeeded,
          denies: p.denies,
          deniesNeeded: p.deniesNeeded,
          tier: p.tier,
          tiers: p.tiers,
          tierSince: p.tierSince,
          nextTierAt: p.nextTierAt,
          votes: p.votes.map((v) => ({
            by: v.by,
            decision: v.decision,
            at: v.at,
            comment: v.comment ?? null,
          })),
        })),
        deadline: view.deadline,
        secondsLeft: view.secondsLeft,
        skippedConfirmation: view.skippedConfirmation,
      };
    case "authorized":
      return {
        ...base,
        authorizedUntil: view.expiresAt,
        secondsLeft: view.secondsLeft,
        skippedConfirmation: view.skippedConfirmation,
        capabilities: view.capabilities,
        notified: view.notified,
      };
    case "unauthorized":
      return {
        ...base,
        lastOutcome: view.outcome && {
          outcome: view.outcome.outcome,
          heading: view.outcome.heading,
          reason: view.outcome.reason,
          by: view.outcome.by,
          // `by` is an id (or an approver's address); people read the name.
          byName: online.byName ?? null,
          at: view.outcome.at,
        },
      };
    case "closed":
      return { ...base, closedAt: view.at };
  }
}

// Each requirement must be allowed by one of its recipients; a flat list of addresses would read
// as "any of these may approve", which is not the rule.
/** The email gate that applies to a device, as API clients see it. */
function effectiveJson(gate: EmailGatePolicy) {
  return {
    required: gate.requirements.length > 0,
    timeoutSeconds: gate.timeoutSeconds,
    requirements: gate.requirements.map((r) => ({
      source: r.source,
      recipients: r.recipients,
      rule: r.rule.kind,
      ...(r.rule.kind === "quorum" ? { allows: r.rule.allows, denies: r.rule.denies } : {}),
      ...(r.rule.kind === "escalation" ? { tiers: r.rule.tiers } : {}),
    })),
  };
}

/**
 * The JSON API, mounted at /api with its own middleware: forms are read within the body limit
 * and setup comes first as for pages, but cookies never authenticate it (so it needs no CSRF
 * token); bearer tokens do.
 */
export function apiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use("*", formBody(), setupGate());
  app.use("*", async (c, next) => {
    c.set("user", null);
    const header = c.req.header("Authorization") ?? "";
    const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
    const auth = token ? await c.get("services").apiTokens.authenticate(token) : null;
    if (!auth) {
      c.header("WWW-Authenticate", 'Bearer realm="assent"');
      return fail(
        c,
        401,
        "unauthorized",
        "A valid API token is required (Authorization: Bearer ast_…)",
      );
    }
    c.set("user", auth.user);
    // What the request does is recorded as done through this token (lib/attribution.ts).
    const via = { tokenId: auth.tokenId, tokenName: auth.tokenName, userId: auth.user.id };
    return await withApiToken(via, () => next());
  });

  const device = async (c: Ctx): Promise<Device | null> => {
    return await c.get("services").deviceAdmin.find(currentUser(c), c.req.param("id") ?? "");
  };

  // The technician's own session, or any in a department the viewer administers.
  const sessionAndDevice = async (c: Ctx) => {
    const { sessions } = c.get("services");
    try {
      const { stored, device } = await sessions.visible(currentUser(c), c.req.param("id") ?? "");
      return { session: stored.session, device };
    } catch (err) {
      if (err instanceof SessionError && err.status === 404) return null;
      throw err;
    }
  };

  const render = async (
    c: Ctx,
    session: SupportSession,
    row: Device,
    status: 200 | 201 | 202 = 200,
  ) => {
    const { sessions, clock, accounts } = c.get("services");
    const now = clock.now();
    const actions = allowedActions({
      device: sessions.deviceView(row),
      session,
      now,
      technicianId: currentUser(c).id,
    });
    const by = session.status.kind === "unauthorized" ? session.status.last?.by : undefined;
    // The viewer's own name is known from the request (a deauthorization answered to its author).
    const byName = by === currentUser(c).id
      ? currentUser(c).name
      : by
      ? await accounts.displayName(by)
      : null;
    return c.json({ session: sessionJson(session, row, { now, actions, byName }) }, status);
  };

  const sessionFailure = (c: Ctx, err: unknown) => {
    if (!(err instanceof SessionError)) throw err;
    return fail(c, err.status, err.code, err.message);
  };

  app.get("/v1/devices", async (c) => {
    const parsed = parseWith(ListQuery, c.req.query());
    if (!parsed.ok) return fail(c, 400, "invalid_request", parsed.message);
    const q = parsed.data;
    const { db, live, deviceAdmin } = c.get("services");
    const pageSize = 100;
    const { rows, total } = await deviceAdmin.search(currentUser(c), {
      department: q.department || undefined,
      q: q.q || undefined,
      connected: q.status === "all" ? undefined : q.status === "online",
      limit: pageSize,
      offset: (q.page - 1) * pageSize,
    });
    const names = await loadNames(db);
    return c.json({
      devices: rows.map((r) => deviceModel(r, live, names)),
      total,
      page: q.page,
      pageSize,
    });
  });

  app.get("/v1/devices/:id", async (c) => {
    const row = await device(c);
    if (!row) return fail(c, 404, "not_found", "There is no such device");
    const { db, live } = c.get("services");
    return c.json({ device: deviceModel(row, live, await loadNames(db)) });
  });

  app.post("/v1/devices/:id/sessions", async (c) => {
    const row = await device(c);
    if (!row) return fail(c, 404, "not_found", "There is no such device");
    const input = await body(c, OpenBody);
    if (input instanceof Response) return input;
    try {
      const session = await c.get("services").sessions.open(currentUser(c), row, input.asUser);
      return render(c, session, row, 201);
    } catch (err) {
      return sessionFailure(c, err);
    }
  });

  app.get("/v1/sessions/:id", async (c) => {
    const found = await sessionAndDevice(c);
    if (!found) return fail(c, 404, "not_found", "There is no such support session");
    return render(c, found.session, found.device);
  });

  app.get("/v1/sessions/:id/receipts", async (c) => {
    const found = await sessionAndDevice(c);
    if (!found) return fail(c, 404, "not_found", "There is no such support session");
    const receipts = await c.get("services").receipts.ofSession(found.session.id);
    return c.json({
      receipts: receipts.map((r) => ({
        ...r,
        ending: receiptEnding(r.outcome),
        text: receiptText(r),
      })),
    });
  });

  // The use case checks the session is the technician's own (404 otherwise) in its own
  // transaction, and answers with the device it read: nothing is read before it.
  app.post("/v1/sessions/:id/authorize", async (c) => {
    const input = await body(c, AuthorizeBody);
    if (input instanceof Response) return input;
    const { sessions } = c.get("services");
    const [user, id] = [currentUser(c), c.req.param("id") ?? ""];
    try {
      const result = input.code || input.password
        ? await sessions.verifySecureConnect(user, id, input)
        : await sessions.requestAuthorization(
          user,
          id,
          undefined,
          input.reason,
          input.capabilities,
        );
      if (result.kind !== "requested") return stepUpNeeded(c, result);
      return render(c, result.session, result.device, 202);
    } catch (err) {
      return sessionFailure(c, err);
    }
  });

  app.get("/v1/authorizations/active", async (c) => {
    const items = await c.get("services").sessions.active(currentUser(c));
    return c.json({
      authorizations: items.map((a) => ({
        sessionId: a.sessionId,
        deviceId: a.deviceId,
        deviceName: a.deviceName,
        departmentId: a.departmentId,
        departmentName: a.departmentName,
        technician: { id: a.technicianId, name: a.technicianName, email: a.technicianEmail },
        asUser: a.asUser,
        authorizedAt: a.authorizedAt,
        expiresAt: a.expiresAt,
        secondsLeft: Math.ceil(a.leftMs / 1000),
        channels: a.channels,
      })),
    });
  });

  // Checked (404 when the viewer may not see it) and carried out in one transaction.
  app.post("/v1/sessions/:id/deauthorize", async (c) => {
    try {
      const { sessions } = c.get("services");
      const { session, device } = await sessions.deauthorizeVisible(
        currentUser(c),
        c.req.param("id") ?? "",
      );
      return render(c, session, device);
    } catch (err) {
      return sessionFailure(c, err);
    }
  });

  for (const verb of ["cancel", "close"] as const) {
    app.post(`/v1/sessions/:id/${verb}`, async (c) => {
      const found = await sessionAndDevice(c);
      if (!found) return fail(c, 404, "not_found", "There is no such support session");
      try {
        const session = await c.get("services").sessions[verb](currentUser(c), found.session.id);
        return render(c, session, found.device);
      } catch (err) {
        return sessionFailure(c, err);
      }
    });
  }

  // Session Confirmation settings of a department (R4, issue 14): read in scope, admins change.
  app.get("/v1/departments/:id/confirmation", async (c) => {
    try {
      const policy = await c.get("services").consentSettings.read(
        currentUser(c),
        c.req.param("id"),
      );
      return c.json(confirmationJson(policy));
    } catch (err) {
      return sessionFailure(c, err);
    }
  });
  app.put("/v1/departments/:id/confirmation", async (c) => {
    const input = await body(c, ConfirmationBody);
    if (input instanceof Response) return input;
    try {
      const policy = await c.get("services").consentSettings.change(
        currentUser(c),
        c.req.param("id"),
        input as Partial<ConfirmationSettings>,
      );
      return c.json(confirmationJson(policy));
    } catch (err) {
      return sessionFailure(c, err);
    }
  });

  // Email authorization settings (R5), per device and per group; admins only.
  const emailTarget = async (c: Ctx, kind: "device" | "group") => {
    const { deviceAdmin, enrollment } = c.get("services");
    const id = c.req.param("id") ?? "";
    if (kind === "device") {
      const row = await deviceAdmin.find(currentUser(c), id);
      return row && row.kind === "agent"
        ? { kind, id, name: row.name, departmentId: row.department_id, row }
        : null;
    }
    const found = await enrollment.group(currentUser(c), id).catch((err) => {
      if (err instanceof EnrollmentError) return null;
      throw err;
    });
    return found && {
      kind,
      id,
      name: found.group.name,
      departmentId: found.group.department_id,
      row: null,
    };
  };

  for (const kind of ["device", "group"] as const) {
    const path = `/v1/${kind}s/:id/email-authorization`;
    app.get(path, async (c) => {
      const target = await emailTarget(c, kind);
      if (!target) return fail(c, 404, "not_found", `There is no such ${kind}`);
      const { db, sessions } = c.get("services");
      const own = await ownEmailPolicy(db, kind, target.id);
      const strip = (p: EmailAuthorizationPolicy | null) =>
        p && {
          required: p.required,
          recipients: p.recipients,
          timeoutSeconds: p.timeoutSeconds,
          approval: p.approval ?? { kind: "first" },
        };
      return c.json({
        own: strip(own),
        ...(target.row ? { effective: effectiveJson(await sessions.emailPolicy(target.row)) } : {}),
      });
    });
    app.put(path, async (c) => {
      if (currentUser(c).role === "technician") {
        return fail(c, 403, "forbidden", "Only admins change email authorization");
      }
      const target = await emailTarget(c, kind);
      if (!target) return fail(c, 404, "not_found", `There is no such ${kind}`);
      const input = await body(c, EmailBody);
      if (input instanceof Response) return input;
      try {
        const saved = await c.get("services").emailSettings.change(
          target,
          emailPolicyOf(input),
          currentUser(c),
        );
        return c.json({ own: saved });
      } catch (err) {
        const message = policyMessage(err);
        if (!message) throw err;
        // The same sentences as the form's, with the field each is about, for programs.
        const fields = isCoreError(err) ? err.issues : [];
        return fail(c, 400, "invalid_request", message, { fields });
      }
    });
    app.delete(path, async (c) => {
      if (currentUser(c).role === "technician") {
        return fail(c, 403, "forbidden", "Only admins change email authorization");
      }
      const target = await emailTarget(c, kind);
      if (!target) return fail(c, 404, "not_found", `There is no such ${kind}`);
      await c.get("services").emailSettings.change(target, null, currentUser(c));
      return c.json({ own: null });
    });
  }

  // Service Desk support sessions (R6): the technician's own.
  const supportCall = async (c: Ctx, run: () => Promise<Response>) => {
    try {
      return await run();
    } catch (err) {
      return sessionFailure(c, err);
    }
  };

  app.get("/v1/support-sessions", async (c) => {
    const list = await c.get("services").support.list(currentUser(c));
    return c.json({ supportSessions: list });
  });

  app.post("/v1/support-sessions", async (c) => {
    const input = await body(c, SupportBody);
    if (input instanceof Response) return input;
    return await supportCall(c, async () => {
      const created = await c.get("services").support.create(currentUser(c), {
        ...input,
        customerName: input.customerName || null,
        ticket: input.ticket || null,
        customerEmail: input.customerEmail?.toLowerCase() ?? null,
      });
      return c.json({ supportSession: created }, 201);
    });
  });

  app.get("/v1/support-sessions/:id", async (c) =>
    await supportCall(c, async () => {
      const found = await c.get("services").support.get(currentUser(c), c.req.param("id"));
      return c.json({ supportSession: found });
    }));

  app.post(
    "/v1/support-sessions/:id/permission",
    async (c) =>
      await supportCall(c, async () => {
        const support = c.get("services").support;
        const id = c.req.param("id");
        const { sessionId } = await support.requestPermission(currentUser(c), id);
        return c.json({ supportSession: await support.get(currentUser(c), id), sessionId }, 202);
      }),
  );

  for (const verb of ["resend", "close"] as const) {
    app.post(`/v1/support-sessions/:id/${verb}`, async (c) =>
      await supportCall(c, async () => {
        const support = c.get("services").support;
        const id = c.req.param("id") ?? "";
        await support[verb](currentUser(c), id);
        return c.json({ supportSession: await support.get(currentUser(c), id) });
      }));
  }

  app.delete("/v1/support-sessions/:id", async (c) =>
    await supportCall(c, async () => {
      await c.get("services").support.delete(currentUser(c), c.req.param("id"));
      return c.body(null, 204);
    }));

  // Approvals (R5): the requests addressed to the token owner's email address, never their own.
  app.get("/v1/approvals", async (c) => {
    const pending = await c.get("services").emailAuth.pendingFor(currentUser(c));
    // `steps` is the pages' data for saying `progress` in the reader's language.
    const approvals = pending.map(({ steps: _steps, ...approval }) => approval);
    return c.json({ approvals });
  });

  app.post("/v1/approvals/:id", async (c) => {
    const input = await body(c, DecisionBody);
    if (input instanceof Response) return input;
    try {
      const { view } = await c.get("services").emailAuth.decideAsUser(
        currentUser(c),
        c.req.param("id"),
        input.decision,
        { comment: approverComment(input.comment), via: "api" },
      );
      if (view.kind === "own_request") return fail(c, 403, "own_request", `${view.text}`);
      return c.json({ result: view });
    } catch (err) {
      return sessionFailure(c, err);
    }
  });

  app.get("/v1/audit", async (c) => {
    const request = await readAuditRequest(c);
    const page = await c.get("services").audit.search(request.filter);
    return c.json({
      events: page.entries.map((e) => ({
        id: e.id,
        seq: e.seq,
        at: e.at,
        action: e.action,
        outcome: e.outcome,
        actor: { kind: e.actor_kind, id: e.actor_id, label: e.actor_label, name: e.actor_name },
        deviceId: e.device_id,
        deviceName: e.device_name,
        sessionId: e.session_id,
        attemptId: e.attempt_id,
        department: e.department_name,
        detail: e.detail ? JSON.parse(e.detail) : {},
      })),
      next: page.nextBefore,
    });
  });

  // Last: what an unknown path under the API answers once its token has been checked.
  jsonErrors(app);
  return app;
}

/** The API's answer when the request waits on the technician's own step-up first. */
function stepUpNeeded(c: Ctx, result: Exclude<RequestResult, { kind: "requested" }>): Response {
  if (result.kind === "enrol_mfa") {
    return fail(
      c,
      403,
      "mfa_enrolment_required",
      "Set up multi-factor authentication before connecting to devices",
    );
  }
  return fail(
    c,
    403,
    "secure_connect_required",
    "Secure Connect: authenticate before connecting to this device",
    {
      method: result.method,
      hint: result.method === "totp"
        ? 'Repeat the request with {"code": "<TOTP or recovery code>"}'
        : 'Repeat the request with {"password": "<your password>"}',
    },
  );
}
