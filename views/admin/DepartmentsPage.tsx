/** Admin: departments, the unit of access for technicians and of policy for devices. */
import { ErrorBox, Field, type FieldErrors, Notice, PostForm } from "../Form.tsx";
import { Layout } from "../Layout.tsx";

/** One row of the departments table. */
export interface DepartmentListItem {
  id: string;
  name: string;
  members: number;
  disabled: boolean;
}

/** The departments table with the create form. */
export function DepartmentsPage(props: {
  departments: DepartmentListItem[];
  errors?: FieldErrors;
  notice?: string | null;
  name?: string;
}) {
  return (
    <Layout title="Departments">
      <h1>Departments</h1>
      <Notice message={props.notice} />
      <ErrorBox errors={props.errors} />
      {props.departments.length === 0
        ? (
          <p class="empty">
            No departments yet. Technicians work on the devices of their departments, so start by
            creating one.
          </p>
        )
        : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Members</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {props.departments.map((d) => (
                  <tr key={d.id} class={d.disabled ? "muted" : undefined}>
                    <td class="title">
                      <a href={`/admin/departments/${d.id}`}>{d.name}</a>
                    </td>
                    <td data-label="Members">{d.members}</td>
                    <td class="corner">
                      {d.disabled
                        ? <span class="badge">Disabled</span>
                        : <span class="badge badge-ok">Active</span>}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      <PostForm action="/admin/departments" class="card stack inline-form" errors={props.errors}>
        <h2>New department</h2>
        <Field label="Name" name="name" value={props.name ?? ""} required maxlength={100} />
        <button type="submit" class="primary">Create department</button>
      </PostForm>
    </Layout>
  );
}

/** Rename, disable or enable one department, and manage its device groups. */
export function DepartmentPage(props: {
  department: DepartmentListItem;
  groups: { id: string; name: string; devices: number }[];
  errors?: FieldErrors;
  notice?: string | null;
  name?: string;
  /** What is wrong with the new group just sent, and its name. */
  newGroup?: { errors: FieldErrors; name: string };
}) {
  const d = props.department;
  return (
    <Layout title={d.name}>
      <p class="crumbs">
        <a href="/admin/departments">Departments</a>
      </p>
      <h1>{d.name}</h1>
      <Notice message={props.notice} />
      <ErrorBox errors={props.errors} />
      <PostForm action={`/admin/departments/${d.id}`} class="card stack" errors={props.errors}>
        <Field label="Name" name="name" value={props.name ?? d.name} required maxlength={100} />
        <button type="submit" class="primary">Rename</button>
      </PostForm>
      <section class="card">
        <h2>Status</h2>
        <p>
          {d.disabled
            ? "Disabled: its technicians cannot reach its devices."
            : `Active, with ${d.members} member${d.members === 1 ? "" : "s"}.`}
        </p>
        <PostForm action={`/admin/departments/${d.id}/${d.disabled ? "enable" : "disable"}`}>
          <button type="submit" class={d.disabled ? "" : "danger"}>
            {d.disabled ? "Enable department" : "Disable department"}
          </button>
        </PostForm>
      </section>
      <section class="card" id="groups">
        <h2>Device groups</h2>
        <p class="hint">
          Groups gather devices for policies, such as excluding a whole group from Session
          Confirmation or requiring email authorization for it.
        </p>
        {props.groups.length === 0 ? <p class="empty">No groups yet.</p> : (
          <ul class="plain">
            {props.groups.map((g) => (
              <li key={g.id}>
                <a href={`/admin/groups/${g.id}`}>{g.name}</a>{" "}
                <span class="muted">({g.devices} device{g.devices === 1 ? "" : "s"})</span> ·{" "}
                <a
                  href={`/admin/groups/${g.id}#email-authorization`}
                  aria-label={`Email authorization of ${g.name}`}
                >
                  Email authorization
                </a>
              </li>
            ))}
          </ul>
        )}
        <ErrorBox errors={props.newGroup?.errors} ids={{ name: "f-group-name" }} />
        <PostForm
          action={`/admin/departments/${d.id}/groups`}
          class="stack"
          errors={props.newGroup?.errors}
        >
          {/* Its own id: the department's Name field above is f-name. */}
          <Field
            label="New group name"
            name="name"
            id="f-group-name"
            value={props.newGroup?.name}
            required
            maxlength={100}
          />
          <button type="submit">Add group</button>
        </PostForm>
      </section>
    </Layout>
  );
}
