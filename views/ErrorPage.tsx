/** A plain page for errors: what happened and where to go next. */
import { usePage } from "./context.ts";
import { Layout } from "./Layout.tsx";

const TITLES: Record<number, string> = {
  400: "That did not work",
  403: "Not allowed",
  404: "Not found",
  // A conflict is the state of things, not a repeat: "not authorized", "already authorized"…
  409: "Not possible right now",
  413: "Too large",
  429: "Too many attempts",
  503: "Busy, try again shortly",
  500: "Something went wrong",
};

/** The error page for `status`, with the message in plain words. */
export function ErrorPage(props: { status: number; message: string }) {
  const title = TITLES[props.status] ?? "Error";
  const { requestId } = usePage();
  return (
    <Layout title={title} narrow>
      <h1>{title}</h1>
      <p class="lead">{props.message}</p>
      <p>
        <a href="/">Go to the dashboard</a>
      </p>
      {requestId && (
        <p class="muted">
          Request <code>{requestId}</code>: quote it when you report this.
        </p>
      )}
    </Layout>
  );
}
