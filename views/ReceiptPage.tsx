/** A consent receipt as the technician sees it: the same facts the end user got, in a table. */
import {
  type ConsentReceipt,
  reasonText,
  receiptDuration,
  receiptEnding,
  receiptSize,
} from "../core/mod.ts";
import { Time } from "./format.tsx";
import { Layout } from "./Layout.tsx";

/** The receipt page's model. */
export interface ReceiptPageModel {
  receipt: ConsentReceipt;
  sessionHref: string;
  /** Where it was mailed, if anywhere. */
  mailedTo: string | null;
}

const CHANNEL_LABELS = {
  screen: "Screen (view and control)",
  terminal: "Terminal",
  files: "File transfer",
} as const;

/** The receipt's facts, channels and files. */
export function ReceiptView(props: { receipt: ConsentReceipt; mailedTo: string | null }) {
  const r = props.receipt;
  return (
    <section class="card receipt" aria-labelledby="receipt-heading">
      <h2 id="receipt-heading">What the end user was given</h2>
      <dl class="facts">
        <dt>Technician</dt>
        <dd>{r.technician}</dd>
        <dt>Organization</dt>
        <dd>{r.organization}</dd>
        <dt>Device</dt>
        <dd>{r.deviceName}</dd>
        <dt>Started</dt>
        <dd>
          <Time at={r.startedAt} />
        </dd>
        <dt>Ended</dt>
        <dd>
          <Time at={r.endedAt} />
        </dd>
        <dt>How it ended</dt>
        <dd>{reasonText(r.outcome)}</dd>
        <dt>The end user was told</dt>
        <dd>{receiptEnding(r.outcome)}</dd>
        <dt>Sent to</dt>
        <dd>{props.mailedTo ?? "Nobody: no address is set for this device"}</dd>
      </dl>
      <h3>What was opened</h3>
      {r.channels.length === 0 ? <p class="empty">Nothing was opened.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Opened</th>
                <th scope="col">For</th>
              </tr>
            </thead>
            <tbody>
              {r.channels.map((c, i) => (
                <tr key={i}>
                  <td>{CHANNEL_LABELS[c.kind]}</td>
                  <td>
                    <Time at={c.openedAt} />
                  </td>
                  <td>{receiptDuration(c.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Files transferred</h3>
      {r.files.length === 0 ? <p class="empty">No files.</p> : (
        <div class="table-wrap">
          <table class="receipt-files">
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">Direction</th>
                <th scope="col">SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {r.files.map((f, i) => (
                <tr key={i}>
                  <td>
                    {f.name}
                    {!f.completed && <span class="muted">(stopped before it finished)</span>}
                  </td>
                  <td>{receiptSize(f.size)}</td>
                  <td>{f.direction === "to_device" ? "To the device" : "From the device"}</td>
                  <td class="mono hash">{f.sha256 ?? "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted">Receipt {r.id}</p>
    </section>
  );
}

/** /sessions/:id/receipts/:receiptId. */
export function ReceiptPage(props: { model: ReceiptPageModel }) {
  const m = props.model;
  return (
    <Layout title={`Consent receipt · ${m.receipt.deviceName}`}>
      <div class="page-head">
        <h1>Consent receipt for {m.receipt.deviceName}</h1>
      </div>
      <ReceiptView receipt={m.receipt} mailedTo={m.mailedTo} />
      <p>
        <a href={m.sessionHref}>The session's timeline</a>
      </p>
    </Layout>
  );
}
