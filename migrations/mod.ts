/**
 * Every migration, statically imported so a compiled binary carries them.
 * Names sort in the order they run; a landed migration is never edited, only followed.
 */
import type { Migration } from "kysely/migration";
import * as foundation from "./20261121T100000_foundation.ts";

/** All migrations by name, in the order they run. */
export const migrations: Record<string, Migration> = {
  "20261121T100000_foundation": foundation,
};
