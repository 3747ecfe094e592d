/** The departments whose settings the viewer may change, with what each has switched on. */
import { type Locale, LOCALE_NAMES, LOCALES, t } from "../i18n/mod.ts";
import { FieldError, fieldWiring, Notice, PostForm } from "./Form.tsx";
import { Layout } from "./Layout.tsx";

/** One department of the settings list. */
export interface SettingsListItem {
  id: string;
  name: string;
  disabled: boolean;
  confirmation: boolean;
  secureConnect: boolean;
  lifetimeMinutes: number;
}

/** The organization's default language, as the settings list shows it. */
export interface LanguageSetting {
  locale: Locale;
  /** Super admins change it; everyone else reads it. */
  canChange: boolean;
  saved?: boolean;
  error?: string;
}

/** The settings list, or an empty state when the viewer has no departments. */
export function SettingsListPage(
  props: { departments: SettingsListItem[]; language: LanguageSetting },
) {
  const onOff = (on: boolean) =>
    on ? <span class="badge badge-ok">On</span> : <span class="badge">Off</span>;
  return (
    <Layout title="Settings">
      <h1>Settings</h1>
      <p class="lead">
        Session Confirmation, Secure Connect and the authorization lifetime are set per department.
      </p>
      {props.departments.length === 0
        ? (
          <div class="card empty-state">
            <p>
              You have no departments to configure. A super admin can add you to a department.
            </p>
          </div>
        )
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Department</th>
                  <th scope="col">Session Confirmation</th>
                  <th scope="col">Secure Connect</th>
                  <th scope="col">Authorization lifetime</th>
                </tr>
              </thead>
              <tbody>
                {props.departments.map((d) => (
                  <tr key={d.id} class={d.disabled ? "muted" : undefined}>
                    <td class="title">
                      <a href={`/settings/${d.id}`}>{d.name}</a>
                      {d.disabled && (
                        <>
                          {" "}
                          <span class="badge">Disabled</span>
                        </>
                      )}
                    </td>
                    <td data-label="Session Confirmation">{onOff(d.confirmation)}</td>
                    <td data-label="Secure Connect">{onOff(d.secureConnect)}</td>
                    <td data-label="Authorization lifetime">
                      {t("en", "count.minutes", { count: d.lifetimeMinutes })}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <LanguageSection {...props.language} />
    </Layout>
  );
}

// Approvers have no account to choose a language in, so their emails use the organization's; pages
// follow each reader's browser.
function LanguageSection(props: LanguageSetting) {
  const id = "f-locale";
  return (
    <section class="card" id="language" aria-labelledby="language-heading">
      <h2 id="language-heading">Organization language</h2>
      <Notice message={props.saved ? "The organization's language is saved." : null} />
      <p class="hint" id={`${id}-hint`}>
        Approval emails are written in this language. The device prompt, the join page and the
        approval page follow each reader's own device or browser.
      </p>
      {props.canChange
        ? (
          <PostForm action="/settings/language" class="stack">
            <div class={props.error ? "field has-error" : "field"}>
              <label for={id}>Default language</label>
              <select name="locale" {...fieldWiring(id, { hint: true, error: props.error })}>
                {LOCALES.map((l) => (
                  <option key={l} value={l} lang={l} selected={l === props.locale}>
                    {LOCALE_NAMES[l]}
                  </option>
                ))}
              </select>
              <FieldError id={id} error={props.error} />
            </div>
            <div class="actions-row">
              <button type="submit" class="primary">Save language</button>
            </div>
          </PostForm>
        )
        : (
          <p>
            Default language: <strong lang={props.locale}>{LOCALE_NAMES[props.locale]}</strong>
            {props.error && <FieldError id={id} error={props.error} />}
          </p>
        )}
    </section>
  );
}
