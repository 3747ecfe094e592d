/** Admin: enrollment tokens that let agents join a department. */
import type { AgentDownload, InstallCommand } from "../../presenters/downloads.ts";
import { Checksum, CopyCommand } from "../Commands.tsx";
import { ErrorBox, Field, type FieldErrors, Notice, PostForm, SelectField } from "../Form.tsx";
import { Time } from "../format.tsx";
import { Layout } from "../Layout.tsx";

/** One token in the list. */
export interface TokenListItem {
  id: string;
  label: string;
  department: string;
  group: string | null;
  uses: number;
  maxUses: number;
  expiresAt: number;
  state: "active" | "expired" | "used up" | "revoked";
  createdBy: string | null;
}

/** The form's choices. */
export interface EnrollmentFormModel {
  departments: { id: string; name: string }[];
  groups: { id: string; name: string; departmentId: string }[];
}

/** A token just created: shown once, with the commands to run. */
export interface CreatedToken {
  token: string;
  /** For an unpacked package, run by hand. */
  command: string;
  /** One-line installs, one per package the server has. */
  installs: InstallCommand[];
}

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** The packages the server offers, with their checksums. */
function Packages(props: { downloads: AgentDownload[] }) {
  if (props.downloads.length === 0) {
    return (
      <p class="alert alert-warn" id="no-packages">
        This server has no agent packages yet. Build them with <code>deno task package</code>{" "}
        (see the README, “Connect a device”); until then, agents run from a copy of Assent.
      </p>
    );
  }
  return (
    <div class="table-wrap">
      <table class="packages">
        <thead>
          <tr>
            <th scope="col">System</th>
            <th scope="col">Version</th>
            <th scope="col">Size</th>
            <th scope="col">SHA-256</th>
          </tr>
        </thead>
        <tbody>
          {props.downloads.map((d) => (
            <tr key={d.file} data-platform={d.platform}>
              <td>
                <a href={`/downloads/${d.file}`} download>{d.label}</a>
                {d.format === "executable" && <span class="muted">single executable</span>}
              </td>
              <td>{d.version}</td>
              <td class="nowrap">{mib(d.size)}</td>
              <td class="sha">
                <Checksum sha256={d.sha256} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The enrollment page. */
export function EnrollmentPage(props: {
  downloads: AgentDownload[];
  tokens: TokenListItem[];
  form: EnrollmentFormModel;
  created?: CreatedToken | null;
  errors?: FieldErrors;
  /** What was typed, kept after an error. */
  values?: Readonly<Record<string, string>>;
  notice?: string | null;
}) {
  const { departments, groups } = props.form;
  const v = props.values ?? {};
  return (
    <Layout title="Enrollment">
      <h1>Enroll devices</h1>
      <p class="lead">
        An enrollment token lets the Assent agent on a device join a department. Give it to the
        agent once; the agent then keeps its own credential.
      </p>
      <Notice message={props.notice} />
      <ErrorBox errors={props.errors} ids={{ expiresHours: "f-expires" }} />
      {props.created && (
        <section class="card created-token" aria-live="polite">
          <h2>New token</h2>
          <p>Copy it now; it is not shown again.</p>
          <p>
            <code id="new-token" class="secret">{props.created.token}</code>{" "}
            <button type="button" data-copy="#new-token">Copy</button>
          </p>
          {props.created.installs.length > 0 && (
            <>
              <p>
                Install the agent with one line, as an administrator of the device. It downloads the
                package from this server, checks its SHA-256 before running anything, enrolls with
                this token and installs the service.
              </p>
              {props.created.installs.map((i, n) => (
                <CopyCommand
                  key={i.download.platform}
                  id={`install-${n}`}
                  platform={i.download.platform}
                  label={
                    <>
                      {i.download.label}{" "}
                      <span class="muted">
                        {i.shell === "powershell" ? "(elevated PowerShell)" : "(Terminal)"}
                      </span>
                    </>
                  }
                  command={i.command}
                />
              ))}
            </>
          )}
          <CopyCommand
            id="enroll-command"
            label={props.created.installs.length > 0
              ? "Or, in an unpacked agent package on the device, run:"
              : "On the device, in a copy of Assent (with Deno), run:"}
            command={props.created.command}
          />
        </section>
      )}
      <section class="card">
        <h2>Agent packages</h2>
        <Packages downloads={props.downloads} />
      </section>
      {departments.length === 0
        ? (
          <p class="empty">
            You need a department first. <a href="/admin/departments">Create one</a>.
          </p>
        )
        : (
          <PostForm action="/admin/enrollment" class="card stack" errors={props.errors}>
            <h2>New enrollment token</h2>
            <Field
              label="Label"
              name="label"
              value={v.label}
              required
              maxlength={100}
              hint="For example: Front office PCs"
            />
            <SelectField
              label="Department"
              name="departmentId"
              value={v.departmentId}
              required
              options={departments.map((d) => ({ value: d.id, label: d.name }))}
            />
            <SelectField
              label="Group (optional)"
              name="groupId"
              value={v.groupId}
              options={[
                { value: "", label: "No group" },
                ...groups.map((g) => ({
                  value: g.id,
                  label: `${departments.find((d) => d.id === g.departmentId)?.name} / ${g.name}`,
                })),
              ]}
            />
            <SelectField
              label="Expires in"
              name="expiresHours"
              id="f-expires"
              value={v.expiresHours ?? "24"}
              options={[
                { value: "1", label: "1 hour" },
                { value: "24", label: "1 day" },
                { value: "168", label: "7 days" },
                { value: "720", label: "30 days" },
              ]}
            />
            <Field
              label="Number of uses"
              name="maxUses"
              type="number"
              value={v.maxUses ?? 10}
              min={1}
              max={100000}
              required
              hint="How many devices may enroll with it."
            />
            <button type="submit" class="primary">Create token</button>
          </PostForm>
        )}
      <h2>Tokens</h2>
      {props.tokens.length === 0 ? <p class="empty">No tokens yet.</p> : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Department</th>
                <th scope="col">Uses</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span class="sr">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.tokens.map((t) => (
                <tr key={t.id} class={t.state === "active" ? undefined : "muted"}>
                  <td class="title">{t.label}</td>
                  <td data-label="Department">
                    {t.department}
                    {t.group && <span class="muted">/ {t.group}</span>}
                  </td>
                  <td data-label="Uses">{t.uses} of {t.maxUses}</td>
                  <td data-label="Expires">
                    <Time at={t.expiresAt} />
                  </td>
                  <td class="corner">
                    <span class={`badge${t.state === "active" ? " badge-ok" : ""}`}>{t.state}</span>
                  </td>
                  <td class="actions-cell">
                    {t.state === "active" && (
                      <PostForm action={`/admin/enrollment/${t.id}/revoke`}>
                        <button type="submit" class="danger">Revoke</button>
                      </PostForm>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Layout>
  );
}
