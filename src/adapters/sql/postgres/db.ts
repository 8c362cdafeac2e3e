/**
 * The scale-out database: a PostgreSQL server shared by every API and worker process, through
 * the same Kysely query layer as the embedded mode (PostgresDialect over a `pg` pool).
 */
import { Kysely, Migrator, PostgresDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "../../../core/ports.js";
import { migrationProviderFor } from "../migrations.js";
import { type DB, runTransaction } from "../schema.js";
import { postgresDialect } from "./dialect.js";
import { DatabaseUnavailableError } from "./unavailable.js";

export { DatabaseUnavailableError };

/** Any number: it only has to be the same in every Reelay process sharing the database. */
const MIGRATION_LOCK = 0x7265656c; // "reel"

/**
 * Epoch-ms columns are int8; `pg` reads int8 (and numeric sums) as strings because they may
 * exceed 2^53. Reelay's values never do (times until the year 287,396; credit amounts), so
 * this pool reads them as numbers. Set per pool, not globally, so other `pg` users are unaffected.
 */
const types = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

export interface PostgresDatabase extends Database {
  readonly kysely: Kysely<DB>;
  readonly pool: pg.Pool;
}

export async function openPostgres(opts: { url: string; poolSize: number }): Promise<PostgresDatabase> {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.poolSize,
    types,
    application_name: "reelay",
  });
  // An idle client losing its connection (a server restart) must not crash the process:
  // the pool drops it and the next query opens a new one.
  pool.on("error", () => undefined);
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(kysely).catch((e: unknown) => {
      throw new DatabaseUnavailableError(opts.url, e);
    });
    await migrate(kysely);
  } catch (e) {
    await kysely.destroy();
    throw e;
  }
  return {
    kysely,
    pool,
    transaction: (fn) => runTransaction(kysely, fn),
    async ping() {
      await sql`select 1`.execute(kysely);
    },
    close: () => kysely.destroy(),
  };
}

/**
 * Several processes may start at once against a new database. Each takes a session advisory
 * lock on one connection before migrating, so exactly one runs the migrations and the others
 * find them done (Kysely's own migration lock covers the migrations, not the creation of its
 * bookkeeping tables, which two processes could otherwise race on).
 */
async function migrate(kysely: Kysely<DB>): Promise<void> {
  await kysely.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      const { error, results } = await new Migrator({
        db: conn,
        provider: migrationProviderFor(postgresDialect),
        // Numbers are reserved per feature and merged in any order: a database that ran a later one
        // still takes an earlier one it has not run.
        allowUnorderedMigrations: true,
      }).migrateToLatest();
      const failed = results?.find((r) => r.status === "Error");
      if (error || failed) {
        throw new Error(`Database migration ${failed?.migrationName ?? ""} failed: ${String(error)}`);
      }
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });
}
