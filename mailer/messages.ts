/**
 * The mails Assent sends. Plain text plus simple HTML with no remote images or scripts; the
 * only secret in a mail is its one link.
 */
import { type ConsentReceipt, receiptText } from "../core/mod.ts";
import type {
  AuthorizationRequestFacts,
  MailTexts,
  RenderedMail,
  SupportLinkFacts,
} from "../services/ports.ts";
import { type CatalogueKey, type Locale, type Params, t } from "../i18n/mod.ts";

/** Escapes text for HTML. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function utc(at: number): string {
  return new Date(at).toISOString().replace("T", " ").slice(0, 16) + " UTC";
}

/** What stands in for a decision link wherever someone other than its recipient reads a mail. */
export const REDACTED_APPROVAL_LINK = "[approval link — only the recipient can use it]";

/** `text` with every approval link (a URL ending in /approve/<token>) replaced by a notice. */
export function redactDecisionLinks(text: string): string {
  return text.replace(/\S*\/approve\/[A-Za-z0-9_-]+/g, REDACTED_APPROVAL_LINK);
}

/** The email-authorization request sent to each recipient (R5), in `locale` (English by default). */
export function authorizationRequestMail(input: AuthorizationRequestFacts): RenderedMail {
  const locale: Locale = input.locale ?? "en";
  const say = (key: CatalogueKey, params?: Params) => t(locale, key, params);
  const minutes = Math.max(
    1,
    Math.round((input.deadline - (input.askedAt ?? input.requestedAt)) / 60_000),
  );
  const escalated = input.tier && input.tier > 1
    ? say("mail.approval.escalated", { tier: input.tier - 1 })
    : null;
  const who = input.asUser
    ? say("approval.asks_as", {
      technician: input.technician,
      device: input.device,
      user: input.asUser,
    })
    : say("approval.asks", { technician: input.technician, device: input.device });
  const answerBy = `${utc(input.deadline)} (${
    say("mail.approval.about_minutes", { count: minutes })
  })`;
  const rows: [string, string][] = [
    [say("mail.approval.organization"), input.organization],
    [say("mail.approval.technician"), input.technician],
    [say("mail.approval.device"), input.device],
    ...(input.asUser ? [[say("mail.approval.as_user"), input.asUser] as [string, string]] : []),
    ...(input.reason ? [[say("mail.approval.reason"), input.reason] as [string, string]] : []),
    [say("mail.approval.requested"), utc(input.requestedAt)],
    [say("mail.approval.answer_by"), answerBy],
  ];
  const width = Math.max(...rows.map(([label]) => label.length)) + 2;
  const checkRequest = say("mail.approval.check_request");
  const text = [
    who,
    "",
    ...rows.map(([label, value]) => `${`${label}:`.padEnd(width)}${value}`),
    ...(escalated ? ["", escalated] : []),
    "",
    `${checkRequest}: ${input.link}`,
    "",
    say("mail.approval.instructions"),
  ].join("\n");
  const e = escapeHtml;
  const row = ([label, value]: [string, string]) =>
    `<tr><td style="padding:2px 12px 2px 0;color:#5d6675">${e(label)}</td><td>${
      e(value)
    }</td></tr>`;
  const html =
    `<!doctype html><html lang="${locale}"><body style="font-family:system-ui,Segoe UI,Arial,sans-serif;color:#1b1f27">
<p style="font-size:16px"><strong>${e(who)}</strong></p>
<table style="border-collapse:collapse;font-size:14px">
${rows.map(row).join("\n")}
</table>
${escalated ? `<p>${e(escalated)}</p>` : ""}
<p><a href="${
      e(input.link)
    }" style="display:inline-block;background:#1f4fd1;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600">${
      e(checkRequest)
    }</a></p>
<p style="font-size:13px;color:#5d6675">${e(say("mail.approval.footer"))}</p>
</body></html>`;
  return { subject: say("mail.approval.subject"), text, html };
}

/** The test mail sent from the admin mail page. */
export function testMail(organization: string, by: string): RenderedMail {
  const text = `This is a test mail from Assent (${organization}), sent by ${by}.\n\n` +
    "If you can read it, email authorization requests will reach their recipients.";
  return {
    subject: "Assent test mail",
    text,
    html: `<!doctype html><html><body><p>${
      escapeHtml(text).replace(/\n/g, "<br>")
    }</p></body></html>`,
  };
}

/** The link to a Service Desk support session, sent to the customer (R6). */
export function supportLinkMail(input: SupportLinkFacts): RenderedMail {
  const greeting = input.customer ? `Hello ${input.customer},` : "Hello,";
  const lead = `${input.technician} from ${input.organization} has set up a support session ` +
    "to help you with your computer.";
  const steps = [
    "1. Open the link on the computer you need help with.",
    "2. Download and run the support app the page offers (the session code is built in).",
    `3. The app shows who you are about to join. Agree, and ${input.technician} can ask you ` +
    "for permission to help; nothing happens on your computer until you allow it.",
  ];
  const text = [
    greeting,
    "",
    lead,
    "",
    `Open: ${input.link}`,
    `Session code: ${input.formattedCode}`,
    `Valid until: ${utc(input.expiresAt)}`,
    "",
    ...steps,
    "",
    "If you did not expect this mail, ignore it: the session ends on its own.",
  ].join("\n");
  const e = escapeHtml;
  const html =
    `<!doctype html><html><body style="font-family:system-ui,Segoe UI,Arial,sans-serif;color:#1b1f27">
<p>${e(greeting)}</p>
<p style="font-size:16px">${e(lead)}</p>
<p><a href="${
      e(input.link)
    }" style="display:inline-block;background:#1f4fd1;color:#fff;padding:10px 18px;border-radius:6px;text-decoration:none;font-weight:600">Join the support session</a></p>
<p style="font-size:14px">Session code: <strong style="font-family:ui-monospace,Consolas,monospace;font-size:18px;letter-spacing:1px">${
      e(input.formattedCode)
    }</strong><br>Valid until ${e(utc(input.expiresAt))}</p>
<ol style="font-size:14px;padding-left:20px">${
      steps.map((s) => `<li>${e(s.replace(/^\d\. /, ""))}</li>`).join("")
    }</ol>
<p style="font-size:13px;color:#5d6675">If you did not expect this mail, ignore it: the session ends on its own.</p>
</body></html>`;
  return { subject: `Support session from ${input.organization}`, text, html };
}

/** The consent receipt of an ended authorization, for the customer or the device's contact. */
export function receiptMail(receipt: ConsentReceipt): RenderedMail {
  const lead = `${receipt.technician} from ${receipt.organization} no longer has access to ` +
    `${receipt.deviceName}. This is the record of what they had access to.`;
  const body = receiptText(receipt);
  const text = [lead, "", body, "", "Keep this mail as your record; nothing needs to be done."]
    .join("\n");
  const e = escapeHtml;
  const html =
    `<!doctype html><html><body style="font-family:system-ui,Segoe UI,Arial,sans-serif;color:#1b1f27">
<p style="font-size:16px">${e(lead)}</p>
<pre style="font-family:ui-monospace,Consolas,monospace;font-size:13px;white-space:pre-wrap;overflow-wrap:anywhere">${
      e(body)
    }</pre>
<p style="font-size:13px;color:#5d6675">Keep this mail as your record; nothing needs to be done.</p>
</body></html>`;
  return { subject: `Consent receipt: ${receipt.technician} on ${receipt.deviceName}`, text, html };
}

/** The mails, as the services' mail-texts port asks for them. */
export const mailTexts: MailTexts = {
  authorizationRequest: authorizationRequestMail,
  test: testMail,
  supportLink: supportLinkMail,
  receipt: receiptMail,
  redactDecisionLinks,
};
