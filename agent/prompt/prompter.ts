/** What every prompter is: the request, the answer, and the tools that can ask. */
import type { Locale } from "../../i18n/mod.ts";

/** What the server asks the end user, with the deadline translated to the local clock. */
export interface PromptRequest {
  promptId: string;
  message: string;
  technician: string;
  asUser: string | null;
  /** Local epoch milliseconds after which nobody is asked any more. */
  deadline: number;
  onLockScreen: boolean;
  organization?: string;
  /** What the technician asks for (desktop_view, desktop_control, terminal, files), when told. */
  capabilities?: string[];
  /** The windows the end user may choose from, in minutes; null is "until I end it". */
  windows?: (number | null)[];
  /** The device's language (its locale settings); English when absent. */
  locale?: Locale;
}

/** An accept that names what was granted of the request and for how long. */
export type PromptGrant = { answer: "accept"; granted?: string[]; windowMinutes?: number | null };

/**
 * The end user's answer; null when there was none (deadline passed or request withdrawn). A
 * prompter that can ask which capabilities and which window answers with a `PromptGrant`.
 */
export type PromptResult = "accept" | "decline" | PromptGrant | null;

/** A desktop dialog tool that can show the prompt. */
export type DialogTool = "zenity" | "kdialog" | "powershell" | "osascript";

/** Which tool shows the prompt; "none" when nobody can be asked right now. */
export type PrompterKind = "terminal" | DialogTool | "none";

/** Shows confirmation prompts and notifications to whoever sits at the device. */
export interface Prompter {
  readonly kind: PrompterKind;
  /** Resolves with the answer, or null at the deadline or when `signal` aborts. */
  ask(req: PromptRequest, signal: AbortSignal): Promise<PromptResult>;
  /** Shows `text` (the product's own notices in `locale`). */
  notify(text: string, locale?: Locale): Promise<void>;
}
