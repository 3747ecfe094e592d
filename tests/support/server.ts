/** A real server on a loopback port, in-process, over a temporary data directory. */
import { type RunningServer, type StartOptions, startServer } from "../../main.ts";
import { silentLogger } from "../../lib/log.ts";

/** A started server plus its data directory, stopped and removed on dispose. */
export interface TestServer extends RunningServer, AsyncDisposable {
  dataDir: string;
}

/** Starts the server on 127.0.0.1 with an OS-chosen port. */
export async function startTestServer(options: StartOptions = {}): Promise<TestServer> {
  const dataDir = await Deno.makeTempDir({ prefix: "assent-server-" });
  const running = await startServer({
    host: "127.0.0.1",
    port: 0,
    dataDir,
    publicUrl: "http://127.0.0.1:0",
    logLevel: "error",
    trustProxy: false,
  }, { log: silentLogger, ...options });
  return {
    ...running,
    dataDir,
    async [Symbol.asyncDispose]() {
      await running.stop();
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}
