/** What every prompter is: the request, the answer, and the tools that can ask. */

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
}

/** The end user's answer; null when there was none (deadline passed or request withdrawn). */
export type PromptResult = "accept" | "decline" | null;

/** A desktop dialog tool that can show the prompt. */
export type DialogTool = "zenity" | "kdialog" | "powershell" | "osascript";

/** Which tool shows the prompt; "none" when nobody can be asked right now. */
export type PrompterKind = "terminal" | DialogTool | "none";

/** Shows confirmation prompts and notifications to whoever sits at the device. */
export interface Prompter {
  readonly kind: PrompterKind;
  /** Resolves with the answer, or null at the deadline or when `signal` aborts. */
  ask(req: PromptRequest, signal: AbortSignal): Promise<PromptResult>;
  notify(text: string): Promise<void>;
}
