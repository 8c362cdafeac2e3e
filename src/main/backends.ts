/**
 * Picks the storage backends from the config: the embedded SQLite database and its job queue
 * (one process owns the data dir), or PostgreSQL with pg-boss (any number of processes), and
 * results on local disk or in an S3-compatible bucket. The PostgreSQL and S3 adapters are loaded
 * only when configured: their drivers (pg, pg-boss, the AWS SDK) would double an embedded start.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { createFsBlobStore } from "../adapters/blobs/fs.js";
import { createSqlJobQueue } from "../adapters/queue/sqlite.js";
import type { DB } from "../adapters/sql/schema.js";
import { openSqlite } from "../adapters/sql/sqlite/db.js";
import type { JobQueue } from "../core/jobs/ports.js";
import type { BlobStore } from "../core/media/ports.js";
import type { Clock, Database, Logger } from "../core/ports.js";
import type { Config } from "./config.js";

export interface Backends {
  readonly db: Database & { readonly kysely: Kysely<DB> };
  readonly queue: JobQueue;
  readonly blobs: BlobStore;
  /** This process's scratch directory (attempts, upload spools). */
  readonly scratchDir: string;
  /** True in embedded mode: no other process can hold a job lease. */
  readonly soleProcess: boolean;
  close(): Promise<void>;
}

async function openBlobs(config: Config): Promise<BlobStore & { close?(): void }> {
  if (config.storage.kind !== "s3") return createFsBlobStore(join(config.dataDir, "blobs"));
  const { createS3BlobStore } = await import("../adapters/blobs/s3.js");
  return createS3BlobStore(config.storage);
}

/** Process ids of this host's scratch dirs whose process is gone: their files are garbage. */
const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Several processes may share a data dir (on one host, or a shared volume): each gets its own
 * scratch dir, named by host and pid, and clears those of this host's dead processes.
 */
async function sharedScratch(dataDir: string): Promise<string> {
  const root = join(dataDir, "tmp");
  const host = hostname().replace(/[^a-zA-Z0-9_.-]/g, "_");
  await mkdir(root, { recursive: true });
  for (const name of await readdir(root)) {
    const m = /^(.+)-(\d+)$/.exec(name);
    if (m && m[1] === host && !isAlive(Number(m[2])))
      await rm(join(root, name), { recursive: true, force: true });
  }
  const dir = join(root, `${host}-${process.pid}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function openBackends(config: Config, clock: Clock, logger: Logger): Promise<Backends> {
  if (config.database === null) {
    // Opening the database takes the data dir's lock: nothing else touches the dir before it.
    const db = await openSqlite(config.dataDir);
    const scratchDir = join(config.dataDir, "tmp");
    // Scratch files of attempts that died with an earlier process.
    await rm(scratchDir, { recursive: true, force: true });
    await mkdir(scratchDir, { recursive: true });
    const blobs = await openBlobs(config);
    return {
      db,
      queue: createSqlJobQueue(db.kysely, clock),
      blobs,
      scratchDir,
      soleProcess: true,
      async close() {
        blobs.close?.();
        await db.close();
      },
    };
  }
  const [{ openPostgres }, { createPgBossQueue, startPgBoss }] = await Promise.all([
    import("../adapters/sql/postgres/db.js"),
    import("../adapters/queue/pgboss.js"),
  ]);
  const db = await openPostgres({ url: config.database.url, poolSize: config.database.poolSize });
  try {
    const boss = await startPgBoss({
      db: db.kysely,
      maintenanceIntervalS: config.database.maintenanceIntervalS,
      onError: (e) => logger.warn({ err: e }, "job queue maintenance failed; it will try again"),
    });
    const scratchDir = await sharedScratch(config.dataDir);
    const blobs = await openBlobs(config);
    return {
      db,
      queue: createPgBossQueue({ boss, db: db.kysely }),
      blobs,
      scratchDir,
      soleProcess: false,
      async close() {
        // close: false: the pool is Reelay's, shared with the stores, and closed just below.
        await boss.stop({ graceful: false, close: false });
        blobs.close?.();
        await db.close();
        if (existsSync(scratchDir)) await rm(scratchDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await db.close();
    throw e;
  }
}
