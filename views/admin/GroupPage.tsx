/** Admin: one device group, its name, and its email-authorization setting. */
import type { ComponentChildren } from "preact";
import { ErrorBox, FieldError, fieldWiring, PostForm } from "../Form.tsx";
import { Layout } from "../Layout.tsx";

/** The group page. */
export function GroupPage(props: {
  group: { id: string; name: string; department: { id: string; name: string }; devices: number };
  emailForm: ComponentChildren;
  /** What is wrong with the name just sent, and that name. */
  rename?: { error: string; name: string };
}) {
  const g = props.group;
  return (
    <Layout title={g.name}>
      <p class="crumbs">
        <a href={`/admin/departments/${g.department.id}`}>{g.department.name}</a>
      </p>
      <h1>{g.name}</h1>
      <p class="lead">
        Device group of {g.department.name} with {g.devices}{" "}
        device{g.devices === 1 ? "" : "s"}. A device's own email setting wins over its group's.
      </p>
      <section class="card" id="group">
        <h2>Name</h2>
        <ErrorBox
          errors={props.rename && { name: props.rename.error }}
          ids={{ name: "group-name" }}
        />
        <PostForm
          action={`/admin/groups/${g.id}/rename`}
          class={props.rename ? "inline group-rename has-error" : "inline group-rename"}
        >
          <label for="group-name">Group name</label>
          <input
            {...fieldWiring("group-name", { error: props.rename?.error })}
            name="name"
            required
            maxlength={100}
            value={props.rename?.name ?? g.name}
          />
          <button type="submit">Rename</button>
          <FieldError id="group-name" error={props.rename?.error} />
        </PostForm>
        <PostForm
          action={`/admin/groups/${g.id}/delete`}
          confirm={`Delete the group ${g.name}? Its ${g.devices} device${
            g.devices === 1 ? "" : "s"
          } stay, in no group, and its email-authorization setting and exclusions go with it.`}
        >
          <button type="submit" class="danger">Delete group</button>
        </PostForm>
        <p class="hint">
          Deleting a group keeps its devices (in no group); the audit log keeps its history.
        </p>
      </section>
      {props.emailForm}
    </Layout>
  );
}
