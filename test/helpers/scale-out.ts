/** The settings every process of a scale-out test shares (`reelay serve` and `reelay worker` on one PostgreSQL). */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { createTestDatabase, type TestDatabase } from "./postgres.js";
import { ServerGroup } from "./process.js";

/**
 * What a scale-out test file shares: its processes, a temporary dir and a database of its own,
 * made before its tests and removed after them (processes first).
 */
export function scaleOutFixture(prefix: string): {
  readonly servers: ServerGroup;
  /** The dir and database, once made (they throw before `beforeAll` has run). */
  get(): { dir: string; database: TestDatabase };
} {
  const servers = new ServerGroup();
  let dir = "";
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await servers.killAll();
    await database?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    servers,
    get() {
      if (!database) throw new Error("no database");
      return { dir, database };
    },
  };
}

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

/** Mints an API key for `ownerId` on the API at `url` (201 expected). */
export async function scaleOutKey(url: string, adminToken: string, ownerId: string): Promise<string> {
  const res = await fetch(`${url}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ owner_id: ownerId }),
  });
  if (res.status !== 201) throw new Error(`POST /admin/keys → ${res.status}`);
  return ((await res.json()) as { key: string }).key;
}

/** Creates a 1 s portrait video of the config's `tiny` model at `url`; its task id (200 expected). */
export async function createTiny(url: string, key: string, prompt: string): Promise<string> {
  const res = await fetch(`${url}/v1/video/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "tiny", prompt, orientation: "portrait", size: "small", duration: 1 }),
  });
  if (res.status !== 200) throw new Error(`POST /v1/video/create → ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}
