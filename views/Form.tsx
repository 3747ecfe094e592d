/** Form building blocks: every form carries the CSRF token and shows errors in words. */
import { type ComponentChildren, createContext } from "preact";
import { useContext } from "preact/hooks";
import { usePage } from "./context.ts";

/** The hidden CSRF field every POST form needs. */
export function CsrfField() {
  return <input type="hidden" name="_csrf" value={usePage().csrf} />;
}

/** What is wrong with a form, field by field (by the field's `name`), in plain sentences. */
export type FieldErrors = Readonly<Record<string, string>>;

// The errors of the form being rendered, so each field finds its own by name.
const FormErrors = createContext<FieldErrors>({});

/** The error of the field named `name` in the enclosing `PostForm`, if any. */
export function useFieldError(name: string): string | undefined {
  return useContext(FormErrors)[name];
}

/** A POST form with the CSRF field included; `errors` reach each `Field` by its name. */
export function PostForm(
  props: {
    action: string;
    children: ComponentChildren;
    class?: string;
    id?: string;
    /** Asks this question before submitting (app.js); without scripts it submits at once. */
    confirm?: string;
    errors?: FieldErrors;
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
      <FormErrors.Provider value={props.errors ?? {}}>{props.children}</FormErrors.Provider>
    </form>
  );
}

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
  const fromForm = useFieldError(props.name);
  const error = props.error ?? fromForm;
  return (
    <div class={error ? "field has-error" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        {...fieldWiring(id, { hint: Boolean(props.hint), error })}
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
      <FieldError id={id} error={error} />
      {props.hint && <p class="hint" id={`${id}-hint`}>{props.hint}</p>}
    </div>
  );
}

/** A labelled drop-down list; its error comes from `error` or the enclosing `PostForm`. */
export function SelectField(props: {
  label: string;
  name: string;
  options: readonly { value: string; label: string }[];
  value?: string;
  required?: boolean;
  hint?: string;
  error?: string;
  id?: string;
}) {
  const id = props.id ?? `f-${props.name}`;
  const fromForm = useFieldError(props.name);
  const error = props.error ?? fromForm;
  return (
    <div class={error ? "field has-error" : "field"}>
      <label for={id}>{props.label}</label>
      <select
        {...fieldWiring(id, { hint: Boolean(props.hint), error })}
        name={props.name}
        required={props.required}
      >
        {props.options.map((o) => (
          <option key={o.value} value={o.value} selected={o.value === props.value}>
            {o.label}
          </option>
        ))}
      </select>
      <FieldError id={id} error={error} />
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
  // A problem of the whole form (no field) is the box's sentence, not a link.
  const listed = Object.entries(props.errors ?? {}).filter(([name]) => name !== "");
  const message = props.message ?? props.errors?.[""] ?? null;
  if (!message && listed.length === 0) return null;
  if (listed.length === 0) return <div class="alert alert-error" role="alert">{message}</div>;
  return (
    <div class="alert alert-error error-summary" role="alert">
      <p>
        {message ??
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
