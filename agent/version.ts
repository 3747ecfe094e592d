/**
 * The version the agent reports in its hello; `deno task package --version` stamps another
 * into a bundle. Its own module, so the packaging script reads it without loading the agent.
 */
export const AGENT_VERSION = "0.1.0";
