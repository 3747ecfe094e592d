/**
 * A real app over a real (temporary) database, with a fake clock and cheap hashing: a SQLite
 * file, or a fresh PostgreSQL database when ASSENT_TEST_DATABASE_URL is set.
 */
import { FakeClock } from "../../lib/clock.ts";
import { type Logger, silentLogger } from "../../lib/log.ts";
import type { ScryptParams } from "../../lib/password.ts";
import { SecretBox } from "../../lib/secret_box.ts";
import { createApp } from "../../routes/app.tsx";
import { buildServices, type ServiceDeps, type Wired } from "../../main.ts";
import { migrate, openDatabase } from "../../store/db.ts";
import { createTestDatabase } from "./database.ts";

/** scrypt cost for tests: the algorithm is the production one, only cheaper. */
export const TEST_SCRYPT: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };

/** A test instance and how to dispose of it. */
export interface TestApp {
  app: Awaited<ReturnType<typeof createApp>>;
  services: Wired;
  clock: FakeClock;
  dir: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Builds an app on a fresh database in a temporary directory. */
export async function testApp(
  options: { publicUrl?: string; log?: Logger; metrics?: ServiceDeps["metrics"] } = {},
): Promise<TestApp> {
  const dir = await Deno.makeTempDir({ prefix: "assent-test-" });
  const place = await createTestDatabase(dir);
  const database = openDatabase(place.location);
  if (!place.migrated) await migrate(database.db);
  const clock = new FakeClock();
  const services = await buildServices({
    db: database.db,
    clock,
    log: options.log ?? silentLogger,
    box: new SecretBox(crypto.getRandomValues(new Uint8Array(32))),
    publicUrl: options.publicUrl ?? "http://localhost",
    scrypt: TEST_SCRYPT,
    metrics: options.metrics,
  });
  const app = await createApp(services);
  return {
    app,
    services,
    clock,
    dir,
    async [Symbol.asyncDispose]() {
      await database.close();
      await place.drop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}
