/** /admin/audit: the chain's status and the audit key; the signed bundle for super admins. */
import { Hono } from "hono";
import { keyFingerprint } from "../lib/audit_key.ts";
import { type ChainReport, describeReport } from "../services/audit_chain.ts";
import { AuditIntegrityPage, type ChainStatusModel } from "../views/admin/AuditIntegrityPage.tsx";
import { type AppEnv, currentUser } from "./env.ts";
import { requireRole, requireUser } from "./middleware.ts";
import { render } from "./render.tsx";

/** The page model of a chain report. */
export function chainStatusModel(report: ChainReport): ChainStatusModel {
  return {
    intact: report.intact,
    summary: describeReport(report),
    rows: report.rows,
    checkedAt: report.checkedAt,
    lastCheckpointAt: report.intact ? report.lastCheckpointAt : null,
    problem: report.intact ? null : report.problem,
  };
}

/** How old a status the page may show before it walks the chain again. */
const STATUS_MAX_AGE_MS = 60_000;

/** /admin/audit and /admin/audit/bundle.jsonl. */
export function auditIntegrityRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use("/admin/audit", requireUser(), requireRole("super_admin", "admin"));
  app.use("/admin/audit/bundle.jsonl", requireUser(), requireRole("super_admin"));

  app.get("/admin/audit", async (c) => {
    const { auditChain } = c.get("services");
    const status = await auditChain.recentStatus(STATUS_MAX_AGE_MS);
    const key = auditChain.publicKey;
    return render(
      c,
      <AuditIntegrityPage
        model={{
          status: chainStatusModel(status),
          publicKey: key.raw,
          publicKeyPem: key.pem,
          fingerprint: await keyFingerprint(key.raw),
          canExport: currentUser(c).role === "super_admin",
        }}
      />,
    );
  });

  app.get("/admin/audit/bundle.jsonl", async (c) => {
    const { auditChain, clock, log } = c.get("services");
    const user = currentUser(c);
    const body = jsonLines(
      await auditChain.exportFor(user),
      (err) => log.error("audit bundle export failed", { err, user: user.id }),
    );
    const date = new Date(clock.now()).toISOString().slice(0, 10).replaceAll("-", "");
    return c.body(body, 200, {
      "Content-Type": "application/jsonl; charset=utf-8",
      "Content-Disposition": `attachment; filename="assent-audit-${date}.jsonl"`,
      "Cache-Control": "no-store",
    });
  });

  return app;
}

/** Streams `lines` as JSON lines, pulled as the client reads; a failure is logged and ends it. */
function jsonLines(
  lines: AsyncGenerator<unknown>,
  failed: (err: unknown) => void,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await lines.next();
        if (next.done) controller.close();
        else controller.enqueue(encoder.encode(JSON.stringify(next.value) + "\n"));
      } catch (err) {
        failed(err);
        controller.error(err);
      }
    },
    async cancel() {
      await lines.return(undefined);
    },
  });
}
