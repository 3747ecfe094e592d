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
}) {
  const id = `f-${props.name}`;
  const hintId = props.hint ? `${id}-hint` : undefined;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete}
        aria-describedby={hintId}
        aria-invalid={props.error ? "true" : undefined}
        min={props.min}
        max={props.max}
        inputMode={props.inputmode}
        pattern={props.pattern}
        autofocus={props.autofocus}
        maxLength={props.maxlength}
      />
      {props.hint && <p class="hint" id={hintId}>{props.hint}</p>}
      {props.error && <p class="field-error">{props.error}</p>}
    </div>
  );
}

/** A box that says what went wrong with the whole form. */
export function ErrorBox(props: { message?: string | null }) {
  if (!props.message) return null;
  return <div class="alert alert-error" role="alert">{props.message}</div>;
}

/** A box that confirms what just happened. */
export function Notice(props: { message?: string | null }) {
  if (!props.message) return null;
  return <div class="alert alert-ok" role="status">{props.message}</div>;
}
