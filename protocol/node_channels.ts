/**
 * The internal channel protocol: one channel relayed from the node a technician's browser
 * reached (the opening node) to the node that holds the device's agent (the holding node),
 * over one authenticated WebSocket per channel (`GET /internal/channels`). Binary frames are
 * the channel's bytes, unframed; text frames are the JSON messages below. Credit flows both
 * ways as on the agent's own connection, so neither node buffers without bound.
 */
import * as z from "zod";

/** The path of the internal endpoint, and what the calling node's signature is for. */
export const NODE_CHANNELS_PATH = "/internal/channels";
export const NODE_CHANNELS_PURPOSE = `GET ${NODE_CHANNELS_PATH}`;

/** Close codes of the internal socket besides 1000. */
export const NODE_CLOSE = {
  /** The first message was not an open request, or a message was malformed. */
  malformed: 4003,
  /** This node does not hold the device's agent. */
  notHeld: 4404,
  /** The channel could not open on the device. */
  refused: 4403,
} as const;

const id = z.string().min(1).max(100).regex(/^[A-Za-z0-9_-]+$/);
const reason = z.string().max(200);
const credit = z.number().int().min(1).max(64 * 1024 * 1024);

/** What the opening node sends. The first message is always `open`. */
export const openerMessage = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("open"),
    deviceId: id,
    sessionId: id,
    technicianId: id,
    kind: z.enum([
      "terminal",
      "desktop",
      "file_upload",
      "file_download",
      "file_list",
      "file_mkdir",
    ]),
    /** The id core knows the channel by on the opening node, for the holding node's log. */
    channel: z.string().min(1).max(40),
    params: z.record(z.string(), z.unknown()),
    /** The opening node records the terminal; the device is told so. */
    recorded: z.boolean().optional(),
  }),
  z.object({ type: z.literal("channel_event"), event: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("channel_credit"), bytes: credit }),
  z.object({ type: z.literal("channel_close"), reason: reason.optional() }),
]);
/** A message from the opening node. */
export type OpenerMessage = z.infer<typeof openerMessage>;

/** What the holding node sends back. */
export const holderMessage = z.discriminatedUnion("type", [
  z.object({ type: z.literal("channel_opened") }),
  z.object({ type: z.literal("channel_error"), message: z.string().max(500) }),
  z.object({ type: z.literal("channel_event"), event: z.record(z.string(), z.unknown()) }),
  z.object({ type: z.literal("channel_credit"), bytes: credit }),
  /** `code`: the reason code the holding node ended its side with. */
  z.object({ type: z.literal("channel_close"), reason: reason, code: z.string().max(40) }),
]);
/** A message from the holding node. */
export type HolderMessage = z.infer<typeof holderMessage>;

/** Parses one text frame with `schema`; null when it is not JSON or not a known message. */
export function parseNodeMessage<T>(schema: z.ZodType<T>, text: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
