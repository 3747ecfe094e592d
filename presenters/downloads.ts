/** Agent packages and install commands as the enrollment and join pages offer them. */
import type { Platform } from "../lib/platforms.ts";

export type { AgentDownload, InstallCommand } from "../services/downloads.ts";

/** The OS names people read. */
export const OS_LABELS: Record<Platform["os"], string> = {
  windows: "Windows",
  darwin: "macOS",
  linux: "Linux",
};
