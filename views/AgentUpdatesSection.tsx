/** Admin → Policies: whether this department's agents update themselves. */
import { ErrorBox, Notice, PostForm } from "./Form.tsx";

/** What the section shows. */
export interface AgentUpdatesModel {
  held: boolean;
  /** The agent version this server ships, or null when it has no packages. */
  shipped: string | null;
}

/** The agent update policy of one department. */
export function AgentUpdatesSection(
  props: { base: string; model: AgentUpdatesModel; saved: boolean; error?: string },
) {
  const m = props.model;
  return (
    <section class="card settings-section" id="agent-updates" aria-labelledby="agent-updates-h">
      <h2 id="agent-updates-h">Agent updates</h2>
      <Notice message={props.saved ? "Saved." : null} />
      <ErrorBox message={props.error} />
      <p class="hint">
        {m.shipped
          ? `This server ships agent version ${m.shipped}. Installed agents of older versions download it from this server, check its SHA-256, switch to it and go back to their previous version if it does not come online.`
          : "This server has no agent packages, so it offers no updates."}
      </p>
      <PostForm action={`${props.base}/agent-updates`} class="stack">
        <label class="check" for="hold-updates">
          <input
            type="checkbox"
            id="hold-updates"
            name="hold"
            checked={m.held}
            aria-describedby="hold-updates-hint"
          />
          Hold agent updates for this department
        </label>
        <p class="hint" id="hold-updates-hint">
          While held, installed agents keep the version they run; new installs from the Enrollment
          page still get the version this server ships.
        </p>
        <div>
          <button type="submit" class="primary">Save agent updates</button>
        </div>
      </PostForm>
    </section>
  );
}
