/** Admin: whether the audit log's hash chain is intact, the key that signs it, the export. */
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** The chain's state as the page shows it. */
export interface ChainStatusModel {
  intact: boolean;
  /** The verdict in one line ("intact, N rows, last checkpoint T" or the first break). */
  summary: string;
  rows: number;
  checkedAt: number;
  lastCheckpointAt: number | null;
  /** The first broken row and what differs, when broken. */
  problem: { seq: number; at: number | null; message: string } | null;
}

/** The integrity page's model. */
export interface AuditIntegrityModel {
  status: ChainStatusModel;
  publicKey: string;
  publicKeyPem: string;
  fingerprint: string;
  /** Only super admins may download the whole chain. */
  canExport: boolean;
}

/** A one-line chain status, for the audit page's head. */
export function ChainStatus(props: { status: ChainStatusModel; link?: boolean }) {
  const s = props.status;
  return (
    <p class={`chain-status ${s.intact ? "chain-ok" : "chain-broken"}`} role="status">
      <span class={`badge ${s.intact ? "badge-ok" : "badge-bad"}`}>
        {s.intact ? "Chain intact" : "Chain broken"}
      </span>{" "}
      {s.intact
        ? (
          <>
            {s.rows} rows, {s.lastCheckpointAt === null ? "no checkpoint yet" : (
              <>
                last checkpoint <Time at={s.lastCheckpointAt} />
              </>
            )}
          </>
        )
        : (
          <>
            at row {s.problem!.seq}
            {s.problem!.at !== null && (
              <>
                {" "}(<Time at={s.problem!.at} />)
              </>
            )}: {s.problem!.message}
          </>
        )}
      {props.link && (
        <>
          {" "}
          <a href="/admin/audit">Details</a>
        </>
      )}
    </p>
  );
}

/** /admin/audit. */
export function AuditIntegrityPage(props: { model: AuditIntegrityModel }) {
  const m = props.model;
  return (
    <Layout title="Audit integrity">
      <h1>Audit integrity</h1>
      <p class="lead">
        Every audit event carries the SHA-256 of its content and of the event before it, so an event
        changed, removed or moved in the database breaks the chain from there on. Every ten minutes
        (or thousand events) the head of the chain is signed with this server's audit key.
      </p>
      <section class="card stack">
        <h2>Chain</h2>
        <ChainStatus status={m.status} />
        <p class="muted">
          Checked <Time at={m.status.checkedAt} />. On the server, run{" "}
          <code>assent admin audit verify</code> to walk it again.
        </p>
      </section>
      <section class="card stack">
        <h2>Audit signing key</h2>
        <p>
          Keep a copy of this public key outside this server: a bundle or checkpoint that verifies
          with it was signed here. The private key is <code>audit.key</code>{" "}
          in the data directory, beside the instance secret.
        </p>
        <dl class="facts">
          <dt>Fingerprint</dt>
          <dd class="mono" id="audit-key-fingerprint">{m.fingerprint}</dd>
          <dt>Public key (Ed25519, base64url)</dt>
          <dd class="mono" id="audit-public-key">{m.publicKey}</dd>
        </dl>
        <details>
          <summary>PEM</summary>
          <pre id="audit-public-key-pem">{m.publicKeyPem}</pre>
        </details>
      </section>
      {m.canExport && (
        <section class="card stack">
          <h2>Signed export</h2>
          <p>
            The whole log as JSON lines: every event, every checkpoint and the public key, with a
            signed last line. It verifies offline with the steps in the documentation (
            <code>docs/audit-verification.md</code>). The download is itself audited.
          </p>
          <p>
            <a class="button" href="/admin/audit/bundle.jsonl" download>
              Download signed bundle
            </a>
          </p>
        </section>
      )}
    </Layout>
  );
}
