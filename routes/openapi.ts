/**
 * GET /api/v1/openapi.json: the JSON API described as OpenAPI 3.1, generated from the zod
 * schemas that validate its requests (routes/api_schemas.ts) with zod's own JSON Schema output.
 * Public: it describes the API, it holds no data.
 */
import { Hono } from "hono";
import * as z from "zod";
import { ASSENT_VERSION } from "../lib/version.ts";
import {
  ActiveAuthorizationsResponse,
  ApprovalListResponse,
  AuditResponse,
  AuthorizeBody,
  ConfirmationBody,
  ConfirmationResponse,
  DecisionBody,
  DecisionResponse,
  DeviceListResponse,
  DeviceResponse,
  EmailBody,
  EmailPolicyResponse,
  ErrorResponse,
  ListQuery,
  OpenBody,
  ReceiptListResponse,
  SessionResponse,
  SupportBody,
  SupportListResponse,
  SupportResponse,
} from "./api_schemas.ts";
import { AuditQuery } from "./audit.tsx";
import type { AppEnv } from "./env.ts";

type Method = "get" | "post" | "put" | "delete";

/** One documented operation: the route as hono knows it, and what it takes and returns. */
export interface ApiOperation {
  method: Method;
  /** The hono path, `/api/v1/devices/:id`. */
  path: string;
  summary: string;
  tag: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** Status → the response body's schema (null: no body). */
  responses: Record<number, z.ZodType | null>;
}

const ERRORS = { 400: ErrorResponse, 401: ErrorResponse, 404: ErrorResponse };

/** Every operation of /api/v1, in the order docs/api.md walks through them. */
export const API_OPERATIONS: ApiOperation[] = [
  {
    method: "get",
    path: "/api/v1/devices",
    summary: "List the devices of your departments",
    tag: "Devices",
    query: ListQuery,
    responses: { 200: DeviceListResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/devices/:id",
    summary: "One device",
    tag: "Devices",
    responses: { 200: DeviceResponse, ...ERRORS },
  },
  {
    method: "post",
    path: "/api/v1/devices/:id/sessions",
    summary: "Open a support session on a device",
    tag: "Support sessions",
    body: OpenBody,
    responses: { 201: SessionResponse, 409: ErrorResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/sessions/:id",
    summary: "A support session and what you may do with it now",
    tag: "Support sessions",
    responses: { 200: SessionResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/sessions/:id/receipts",
    summary: "The consent receipts of the session's ended authorizations",
    tag: "Support sessions",
    responses: { 200: ReceiptListResponse, ...ERRORS },
  },
  {
    method: "post",
    path: "/api/v1/sessions/:id/authorize",
    summary: "Request authorization (with the Secure Connect code or password when asked)",
    tag: "Support sessions",
    body: AuthorizeBody,
    responses: {
      202: SessionResponse,
      403: ErrorResponse,
      409: ErrorResponse,
      429: ErrorResponse,
      ...ERRORS,
    },
  },
  ...(["cancel", "deauthorize", "close"] as const).map((verb): ApiOperation => ({
    method: "post",
    path: `/api/v1/sessions/:id/${verb}`,
    summary: {
      cancel: "Cancel a pending authorization request",
      deauthorize: "End an authorization now (Deauthorize Session)",
      close: "Close a support session",
    }[verb],
    tag: "Support sessions",
    responses: { 200: SessionResponse, 409: ErrorResponse, ...ERRORS },
  })),
  {
    method: "get",
    path: "/api/v1/authorizations/active",
    summary:
      "Authorizations in force: your own, and to an admin every one in the departments they administer",
    tag: "Support sessions",
    responses: { 200: ActiveAuthorizationsResponse, 401: ErrorResponse },
  },
  {
    method: "get",
    path: "/api/v1/departments/:id/confirmation",
    summary: "A department's Session Confirmation settings: consent mode, capabilities, windows",
    tag: "Session Confirmation",
    responses: { 200: ConfirmationResponse, ...ERRORS },
  },
  {
    method: "put",
    path: "/api/v1/departments/:id/confirmation",
    summary: "Change a department's Session Confirmation settings (its admins)",
    tag: "Session Confirmation",
    body: ConfirmationBody,
    responses: { 200: ConfirmationResponse, 403: ErrorResponse, ...ERRORS },
  },
  ...(["device", "group"] as const).flatMap((kind): ApiOperation[] => {
    const path = `/api/v1/${kind}s/:id/email-authorization`;
    const tag = "Email authorization";
    return [
      {
        method: "get",
        path,
        summary: `The email authorization setting of a ${kind}`,
        tag,
        responses: { 200: EmailPolicyResponse, ...ERRORS },
      },
      {
        method: "put",
        path,
        summary: `Set a ${kind}'s email authorization (admins)`,
        tag,
        body: EmailBody,
        responses: { 200: EmailPolicyResponse, 403: ErrorResponse, ...ERRORS },
      },
      {
        method: "delete",
        path,
        summary: `Remove a ${kind}'s own email authorization setting (admins)`,
        tag,
        responses: { 200: EmailPolicyResponse, 403: ErrorResponse, ...ERRORS },
      },
    ];
  }),
  {
    method: "get",
    path: "/api/v1/support-sessions",
    summary: "Your Service Desk support sessions",
    tag: "Service Desk",
    responses: { 200: SupportListResponse, 401: ErrorResponse },
  },
  {
    method: "post",
    path: "/api/v1/support-sessions",
    summary: "Create a Service Desk support session (a one-time code)",
    tag: "Service Desk",
    body: SupportBody,
    responses: { 201: SupportResponse, 409: ErrorResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/support-sessions/:id",
    summary: "One Service Desk support session",
    tag: "Service Desk",
    responses: { 200: SupportResponse, ...ERRORS },
  },
  {
    method: "post",
    path: "/api/v1/support-sessions/:id/permission",
    summary: "Ask the customer in the support app for permission",
    tag: "Service Desk",
    responses: {
      202: SupportResponse.extend({ sessionId: z.string() }),
      409: ErrorResponse,
      ...ERRORS,
    },
  },
  ...(["resend", "close"] as const).map((verb): ApiOperation => ({
    method: "post",
    path: `/api/v1/support-sessions/:id/${verb}`,
    summary: verb === "resend" ? "Mail the link to the customer again" : "Close the session",
    tag: "Service Desk",
    responses: { 200: SupportResponse, 409: ErrorResponse, ...ERRORS },
  })),
  {
    method: "delete",
    path: "/api/v1/support-sessions/:id",
    summary: "Delete a Service Desk support session",
    tag: "Service Desk",
    responses: { 204: null, 409: ErrorResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/approvals",
    summary: "Requests waiting for your decision (never your own)",
    tag: "Approvals",
    responses: { 200: ApprovalListResponse, 401: ErrorResponse },
  },
  {
    method: "post",
    path: "/api/v1/approvals/:id",
    summary: "Allow or deny a request addressed to you",
    tag: "Approvals",
    body: DecisionBody,
    responses: { 200: DecisionResponse, 403: ErrorResponse, 409: ErrorResponse, ...ERRORS },
  },
  {
    method: "get",
    path: "/api/v1/audit",
    summary: "The audit log you may read, newest first, a page at a time",
    tag: "Audit",
    query: AuditQuery,
    responses: { 200: AuditResponse, ...ERRORS },
  },
];

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" });
  return rest;
}

const DESCRIPTIONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted: the request is under way; the body says where it stands",
  204: "Done, no body",
  400: "The request is wrong; `error` says how",
  401: "No valid bearer token",
  403: "Refused by the rules; `code` says which",
  404: "No such object, or it is outside your departments",
  409: "The rules refuse it now; `error` says why",
  429: "Too many attempts; `error` says how long to wait",
};

/** The OpenAPI 3.1 document of /api/v1. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of API_OPERATIONS) {
    const path = op.path.replace(/:([A-Za-z]+)/g, "{$1}");
    const parameters: Record<string, unknown>[] = [];
    for (const name of op.path.matchAll(/:([A-Za-z]+)/g)) {
      parameters.push({ name: name[1], in: "path", required: true, schema: { type: "string" } });
    }
    if (op.query) {
      const schema = jsonSchema(op.query, "input") as {
        properties?: Record<string, unknown>;
        required?: string[];
      };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: "query",
          required: schema.required?.includes(name) ?? false,
          schema: property,
        });
      }
    }
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(op.responses)) {
      responses[status] = {
        description: DESCRIPTIONS[Number(status)] ?? "See docs/api.md",
        ...(schema
          ? { content: { "application/json": { schema: jsonSchema(schema, "output") } } }
          : {}),
      };
    }
    paths[path] ??= {};
    paths[path][op.method] = {
      operationId: `${op.method}${
        op.path.replace("/api/v1", "").replace(/[/:-]+([a-z])/g, (_, c) => c.toUpperCase())
      }`,
      summary: op.summary,
      tags: [op.tag],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(op.body
        ? {
          requestBody: {
            // An empty body is read as {}: required only when a field is.
            required: ((jsonSchema(op.body, "input").required as string[] | undefined) ?? [])
              .length > 0,
            content: { "application/json": { schema: jsonSchema(op.body, "input") } },
          },
        }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Assent JSON API",
      version: ASSENT_VERSION,
      description: "Everything the support session panel does, for scripts and ticketing " +
        "tools, under the same rules. docs/api.md walks through it with examples.",
    },
    servers: [{ url: `${serverUrl}/api/v1` }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "An API token (ast_…) from Account → API tokens",
        },
      },
    },
    paths: Object.fromEntries(
      Object.entries(paths).map(([p, ops]) => [p.replace("/api/v1", "") || "/", ops]),
    ),
  };
}

/** /api/v1/openapi.json. */
export function openApiRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/api/v1/openapi.json", (c) => {
    c.header("Cache-Control", "no-cache");
    return c.json(openApiDocument(c.get("services").config.publicUrl));
  });
  return app;
}
