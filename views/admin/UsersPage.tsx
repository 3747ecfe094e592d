/** Admin: the list of users and the form to create or edit one. */
import {
  ErrorBox,
  Field,
  FieldError,
  type FieldErrors,
  fieldWiring,
  Notice,
  PostForm,
  SelectField,
} from "../Form.tsx";
import { Layout } from "../Layout.tsx";

/** One row of the users table. */
export interface UserListItem {
  id: string;
  name: string;
  email: string;
  roleLabel: string;
  departments: string[];
  mfaEnabled: boolean;
  disabled: boolean;
  editable: boolean;
}

/** The users table. */
export function UsersPage(props: { users: UserListItem[]; notice?: string | null }) {
  return (
    <Layout title="Users">
      <div class="page-head">
        <h1>Users</h1>
        <a class="button primary" href="/admin/users/new">Add user</a>
      </div>
      <Notice message={props.notice} />
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Departments</th>
              <th scope="col">2FA</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.users.map((u) => (
              <tr key={u.id} class={u.disabled ? "muted" : undefined}>
                <td class="title">
                  {u.editable ? <a href={`/admin/users/${u.id}`}>{u.name}</a> : u.name}
                </td>
                <td data-label="Email">{u.email}</td>
                <td data-label="Role">{u.roleLabel}</td>
                <td data-label="Departments">{u.departments.join(", ") || "—"}</td>
                <td data-label="2FA">{u.mfaEnabled ? "On" : "Off"}</td>
                <td class="corner">
                  {u.disabled
                    ? <span class="badge">Disabled</span>
                    : <span class="badge badge-ok">Active</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Layout>
  );
}

/** Values of the user form. */
export interface UserFormValues {
  name: string;
  email: string;
  role: string;
  departmentIds: string[];
}

/** The create/edit user form. `roles` are the roles the viewer may grant. */
export function UserFormPage(props: {
  mode: "create" | "edit";
  userId?: string;
  values: UserFormValues;
  roles: { value: string; label: string }[];
  departments: { id: string; name: string }[];
  errors?: FieldErrors;
  notice?: string | null;
  status?: { disabled: boolean; mfaEnabled: boolean; isSelf: boolean };
}) {
  const v = props.values;
  const action = props.mode === "create" ? "/admin/users" : `/admin/users/${props.userId}`;
  return (
    <Layout title={props.mode === "create" ? "Add user" : `Edit ${v.name}`}>
      <p class="crumbs">
        <a href="/admin/users">Users</a>
      </p>
      <h1>{props.mode === "create" ? "Add user" : v.name}</h1>
      <ErrorBox errors={props.errors} ids={{ departmentIds: "f-departments" }} />
      <Notice message={props.notice} />
      <PostForm action={action} class="card stack" errors={props.errors}>
        <Field label="Name" name="name" value={v.name} required maxlength={100} />
        <Field label="Email" name="email" type="email" value={v.email} required />
        <SelectField label="Role" name="role" value={v.role} options={props.roles} required />
        <fieldset
          {...fieldWiring("f-departments", { error: props.errors?.departmentIds })}
          tabIndex={props.errors?.departmentIds ? -1 : undefined}
          class={props.errors?.departmentIds ? "has-error" : undefined}
        >
          <legend>Departments</legend>
          <FieldError id="f-departments" error={props.errors?.departmentIds} />
          {props.departments.length === 0 && (
            <p class="empty">
              No departments yet. <a href="/admin/departments">Create one</a> first.
            </p>
          )}
          {props.departments.map((d) => (
            <label key={d.id} class="check">
              <input
                type="checkbox"
                name="departmentIds"
                value={d.id}
                checked={v.departmentIds.includes(d.id)}
              />{" "}
              {d.name}
            </label>
          ))}
        </fieldset>
        {props.mode === "create" && (
          <Field
            label="Initial password"
            name="password"
            type="password"
            required
            autocomplete="new-password"
            hint="At least 12 characters. Share it securely; the user can change it."
          />
        )}
        <button type="submit" class="primary">
          {props.mode === "create" ? "Add user" : "Save changes"}
        </button>
      </PostForm>
      {props.mode === "edit" && props.status && !props.status.isSelf && (
        <section class="card">
          <h2>Access</h2>
          <div class="actions-row">
            <PostForm
              action={`/admin/users/${props.userId}/${
                props.status.disabled ? "enable" : "disable"
              }`}
            >
              <button type="submit" class={props.status.disabled ? "" : "danger"}>
                {props.status.disabled ? "Enable user" : "Disable user"}
              </button>
            </PostForm>
            {props.status.mfaEnabled && (
              <PostForm action={`/admin/users/${props.userId}/reset-mfa`}>
                <button type="submit">Reset two-factor authentication</button>
              </PostForm>
            )}
          </div>
          <p class="hint">
            Disabling signs the user out at once. Resetting two-factor authentication lets them set
            up a new authenticator app.
          </p>
        </section>
      )}
    </Layout>
  );
}
