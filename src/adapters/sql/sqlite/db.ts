/**
 * The embedded database: one SQLite file in the data dir, opened through better-sqlite3 and
 * Kysely. See docs/decisions/0001-embedded-store.md for why these settings.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type SqliteDialectConfig } from "kysely";
import type { Database } from "../../../core/ports.js";
import { migrationProviderFor } from "../migrations.js";
import { attachReader, type DB } from "../schema.js";
import { sqliteDialect } from "./dialect.js";
import { createGroupCommit } from "./group_commit.js";

export class DataDirLockedError extends Error {
  constructor(dir: string) {
    super(
      `The data dir ${dir} is in use by another Reelay process (see ${join(dir, "reelay.pid")}). ` +
        "Stop it first, or set REELAY_DATA_DIR to another directory.",
    );
    this.name = "DataDirLockedError";
  }
}

/**
 * Takes an exclusive lock on the data dir for the life of the process. It is an SQLite lock
 * (POSIX advisory locks underneath), so the kernel drops it when the process dies, even by
 * SIGKILL: a crashed Reelay never leaves a stale lock behind, and a second one is refused.
 */
function lockDataDir(dir: string): BetterSqlite3.Database {
  const lock = new BetterSqlite3(join(dir, "reelay.lock"), { timeout: 0 });
  try {
    lock.pragma("locking_mode = EXCLUSIVE");
    // The first write takes the exclusive lock; in EXCLUSIVE mode it is never released.
    lock.exec("CREATE TABLE IF NOT EXISTS holder (pid INTEGER); DELETE FROM holder;");
    lock.prepare("INSERT INTO holder (pid) VALUES (?)").run(process.pid);
  } catch (e) {
    lock.close();
    if ((e as { code?: string }).code?.startsWith("SQLITE_BUSY")) throw new DataDirLockedError(dir);
    throw e;
  }
  writeFileSync(join(dir, "reelay.pid"), `${process.pid}\n`);
  return lock;
}

/**
 * Kysely's SQLite driver prepares every statement anew on each query (≈10 µs, a tenth of a
 * request's time under load). Reelay's queries are a fixed set, so their prepared statements are
 * kept (bounded LRU) and reused. Safe because the driver never streams: a statement is never busy.
 */
function withStatementCache(raw: BetterSqlite3.Database, max = 256): SqliteDialectConfig["database"] {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => raw.close(),
    prepare(sql: string) {
      let stmt = cache.get(sql);
      if (stmt) {
        cache.delete(sql);
      } else {
        stmt = raw.prepare(sql);
        if (cache.size >= max) {
          const oldest = cache.keys().next();
          if (!oldest.done) cache.delete(oldest.value);
        }
      }
      cache.set(sql, stmt);
      return stmt;
    },
  } as SqliteDialectConfig["database"];
}

export interface SqliteDatabase extends Database {
  readonly kysely: Kysely<DB>;
}

export async function openSqlite(dataDir: string): Promise<SqliteDatabase> {
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  const raw = new BetterSqlite3(join(dataDir, "reelay.db"), { timeout: 5000 });
  raw.pragma("journal_mode = WAL");
  // FULL: every commit (task state, and later money) is fsynced and survives power loss, not
  // only a process crash. Measured cost in docs/decisions/0001-embedded-store.md.
  raw.pragma("synchronous = FULL");
  raw.pragma("foreign_keys = ON");
  const kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });

  const { error, results } = await new Migrator({
    db: kysely,
    provider: migrationProviderFor(sqliteDialect),
    // Numbers are reserved per feature and merged in any order: a database that ran a later one
    // still takes an earlier one it has not run.
    allowUnorderedMigrations: true,
  }).migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    await kysely.destroy();
    lock.close();
    throw new Error(`Database migration ${failed?.migrationName ?? ""} failed: ${String(error)}`);
  }
  // Opened after the migrations, so that the tables its statements name exist.
  const reader = new BetterSqlite3(join(dataDir, "reelay.db"), { readonly: true, timeout: 5000 });
  attachReader(kysely, reader);

  return {
    kysely,
    // Transactions that queue behind one another share one COMMIT (one fsync): group_commit.ts.
    transaction: createGroupCommit(kysely, raw, { maxMembers: 64, maxOpenMs: 20 }),
    async ping() {
      await kysely.selectNoFrom((eb) => eb.lit(1).as("one")).execute();
    },
    async close() {
      await kysely.destroy();
      reader.close();
      lock.close();
    },
  };
}
