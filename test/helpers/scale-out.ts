/** The settings every process of a scale-out test shares (`reelay serve` and `reelay worker` on one PostgreSQL). */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestDatabase } from "./postgres.js";

/**
 * Writes `config` to DIR/NAME.json and returns the environment for it: the test's database, one
 * data dir on this host (DIR/NAME; each process has its own scratch dir in it), and short leases
 * so a dead worker's jobs and upstream tasks come back within seconds, not the production default.
 */
export async function scaleOutEnv(opts: {
  database: TestDatabase;
  dir: string;
  name: string;
  adminToken: string;
  signingSecret: string;
  config: object;
  extra?: Record<string, string>;
}): Promise<Record<string, string> & { REELAY_DATA_DIR: string }> {
  const configFile = join(opts.dir, `${opts.name}.json`);
  await writeFile(configFile, JSON.stringify(opts.config));
  return {
    REELAY_DATABASE_URL: opts.database.url,
    REELAY_ADMIN_TOKEN: opts.adminToken,
    REELAY_SIGNING_SECRET: opts.signingSecret,
    REELAY_DATA_DIR: join(opts.dir, opts.name),
    REELAY_CONFIG_FILE: configFile,
    REELAY_JOB_LEASE_S: "2",
    REELAY_QUEUE_MAINTENANCE_S: "1",
    REELAY_POLL_INTERVAL_MS: "200",
    ...opts.extra,
  };
}
