/** Form building blocks: every form carries the CSRF token and shows errors in words. */
import type { ComponentChildren } from "preact";
import { usePage } from "./context.ts";

/** The hidden CSRF field every POST form needs. */
export function CsrfField() {
  return <input type="hidden" name="_csrf" value={usePage().csrf} />;
}

/** A POST form with the CSRF field included. */
export function PostForm(
  props: {
    action: string;
    children: ComponentChildren;
    class?: string;
    id?: string;
    /** Asks this question before submitting (app.js); without scripts it submits at once. */
    confirm?: string;
  },
) {
  return (
    <form
      method="post"
      action={props.action}
      class={props.class}
      id={props.id}
      data-confirm={props.confirm}
    >
      <CsrfField />
      {props.children}
    </form>
  );
}

/** What is wrong with a form, field by field (by the field's `name`), in plain sentences. */
export type FieldErrors = Readonly<Record<string, string>>;

/**
 * The attributes that tie a control to its hint and its error: `id` for its label,
 * `aria-invalid`, and `aria-describedby` naming the error (read first) and the hint.
 */
export function fieldWiring(
  id: string,
  opts: { hint?: boolean; error?: string | null | undefined },
): { id: string; "aria-invalid"?: "true"; "aria-describedby"?: string } {
  const described = [opts.error ? `${id}-error` : null, opts.hint ? `${id}-hint` : null]
    .filter(Boolean).join(" ");
  return {
    id,
    ...(opts.error ? { "aria-invalid": "true" as const } : {}),
    ...(described ? { "aria-describedby": described } : {}),
  };
}

/** The error under a control, found by `fieldWiring`'s `aria-describedby`. */
export function FieldError(props: { id: string; error?: string | null }) {
  if (!props.error) return null;
  return <p class="field-error" id={`${props.id}-error`}>{props.error}</p>;
}

/** A labelled input; `hint` explains, `error` says what is wrong with it. */
export function Field(props: {
  label: string;
  name: string;
  type?: "text" | "email" | "password" | "number" | "search" | "url" | "datetime-local";
  value?: string | number;
  required?: boolean;
  autocomplete?: string;
  hint?: string;
  error?: string;
  min?: number;
  max?: number;
  inputmode?: "numeric" | "text" | "email";
  pattern?: string;
  autofocus?: boolean;
  maxlength?: number;
  /** The control's id, when `f-<name>` is not unique on its page. */
  id?: string;
}) {
  const id = props.id ?? `f-${props.name}`;
  return (
    <div class={props.error ? "field has-error" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        {...fieldWiring(id, { hint: Boolean(props.hint), error: props.error })}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete}
        min={props.min}
        max={props.max}
        inputMode={props.inputmode}
        pattern={props.pattern}
        autofocus={props.autofocus}
        maxLength={props.maxlength}
      />
      <FieldError id={id} error={props.error} />
      {props.hint && <p class="hint" id={`${id}-hint`}>{props.hint}</p>}
    </div>
  );
}

/**
 * A box that says what went wrong with the whole form. With `errors`, it lists every field's
 * problem, each a link to its field (app.js moves the focus to the first invalid field).
 */
export function ErrorBox(
  props: { message?: string | null; errors?: FieldErrors; ids?: Readonly<Record<string, string>> },
) {
  const listed = Object.entries(props.errors ?? {});
  if (!props.message && listed.length === 0) return null;
  if (listed.length === 0) return <div class="alert alert-error" role="alert">{props.message}</div>;
  return (
    <div class="alert alert-error error-summary" role="alert">
      <p>
        {props.message ??
          (listed.length === 1
            ? "Correct this to save:"
            : `Correct these ${listed.length} fields to save:`)}
      </p>
      <ul>
        {listed.map(([name, error]) => (
          <li key={name}>
            <a href={`#${props.ids?.[name] ?? `f-${name}`}`}>{error}</a>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** A box that confirms what just happened. */
export function Notice(props: { message?: string | null }) {
  if (!props.message) return null;
  return <div class="alert alert-ok" role="status">{props.message}</div>;
}
