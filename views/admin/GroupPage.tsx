/** Admin: one device group and its email-authorization setting. */
import type { ComponentChildren } from "preact";
import { Layout } from "../Layout.tsx";

/** The group page. */
export function GroupPage(props: {
  group: { id: string; name: string; department: { id: string; name: string }; devices: number };
  emailForm: ComponentChildren;
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
      {props.emailForm}
    </Layout>
  );
}
