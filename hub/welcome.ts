/**
 * What a device hears right after its welcome: every message kept for it (revokes and prompt
 * withdrawals it has not acknowledged), then whatever was sent to it while it was being
 * welcomed. A kept message that also went out live meanwhile is sent once.
 */
import type { ServerMessage } from "../protocol/messages.ts";

/** The messages to send after the welcome, in order. */
export function welcomeMessages(kept: ServerMessage[], held: ServerMessage[]): ServerMessage[] {
  const sent = new Set<string>();
  const out: ServerMessage[] = [];
  for (const message of kept) {
    out.push(message);
    const id = messageId(message);
    if (id) sent.add(id);
  }
  for (const message of held) {
    const id = messageId(message);
    if (id && sent.has(id)) continue;
    out.push(message);
  }
  return out;
}

function messageId(message: ServerMessage): string | undefined {
  return "messageId" in message && message.messageId ? message.messageId : undefined;
}
