/**
 * Task throughput: N tasks created over the HTTP API (in-process injection, a few concurrent
 * creators) until every one is `completed`, with an instant provider, so what is measured is
 * Reelay's own path (auth, validation, task + job transaction, claim, state changes, blob moves,
 * completion transaction) ÷ the raw job queue doing only its part (enqueue N jobs, then claim and
 * complete them in batches) on a fresh SQLite database. Same worker concurrency (8), same
 * synchronous=FULL database. Goal ≥ 0.5. Medians of 5 rounds (the disk is noisy), fresh data each.
 * For context (in the JSON, not the ratio) it also times the worker's per-task file work alone.
 * Run: `npx tsx bench/tasks.ts`.
 */
import { link, mkdir, mkdtemp, rm, rmdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { createFsBlobStore } from "../src/adapters/blobs/fs.js";
import { createSqlJobQueue } from "../src/adapters/queue/sqlite.js";
import { openSqlite } from "../src/adapters/sql/sqlite/db.js";
import type { JobQueue } from "../src/core/jobs/ports.js";
import { blobKeyFor } from "../src/core/media/blob_keys.js";
import type { GeneratedVideo, VideoProvider } from "../src/core/media/ports.js";
import type { TaskEngine } from "../src/core/tasks/engine.js";
import { buildApp } from "../src/http/app.js";
import { loadConfig } from "../src/main/config.js";
import { buildContainer } from "../src/main/container.js";
import { ADMIN_TOKEN, CREATE_BODY } from "./lib/processes.js";
import { type Goal, int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const GOAL: Goal = { atLeast: 0.5 };
export const N = 500;
export const CONCURRENCY = 8;
export const CREATORS = 4;
export const WARMUP = 20;
export const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Bound on any one wait for a queue to drain. */
const DRAIN_TIMEOUT_MS = 60_000;

/**
 * Renders nothing: hands back two ready-made files, hard-linked into the attempt's work dir (a
 * provider's own cost is not Reelay's: on this machine's disk every new file costs ≈ 0.5–1 ms of
 * inode allocation, which would set the pace by itself). Reelay then moves them into its store.
 */
function instantProvider(samples: { video: string; thumbnail: string }): VideoProvider {
  return {
    name: "instant",
    async generate(request, ctx): Promise<GeneratedVideo> {
      const videoPath = join(ctx.workDir, "out.mp4");
      const thumbnailPath = join(ctx.workDir, "out.jpg");
      await Promise.all([link(samples.video, videoPath), link(samples.thumbnail, thumbnailPath)]);
      return {
        videoPath,
        thumbnailPath,
        spritesheetPath: null,
        width: request.width,
        height: request.height,
        durationS: request.duration,
        watermarked: false,
        enhancedPrompt: request.prompt,
      };
    },
  };
}

export interface Round {
  readonly perS: number;
  readonly ms: number;
}

/** Runs both sides alternately, writes bench/results/tasks.json and returns the summary row. */
export async function runTasksBench(): Promise<SummaryRow[]> {
  const reelay: (Round & { createsPerS: number })[] = [];
  const queue: Round[] = [];
  const files: Round[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    reelay.push(await reelayRound(N));
    queue.push(await queueRound(N));
    files.push(await fileWorkRound(N));
    console.log(
      `  round ${i + 1}: Reelay ${int(reelay[i]?.perS ?? 0)} tasks/s, raw queue ${int(queue[i]?.perS ?? 0)} jobs/s, ` +
        `file work alone ${int(files[i]?.perS ?? 0)} tasks/s`,
    );
  }
  const reelayPerS = median(reelay.map((r) => r.perS));
  const queuePerS = median(queue.map((r) => r.perS));
  const filesPerS = median(files.map((r) => r.perS));
  const row: SummaryRow = {
    name: `tasks create→completed, instant provider (N=${N}, concurrency ${CONCURRENCY})`,
    figure: `${int(reelayPerS)} tasks/s`,
    baseline: `${int(queuePerS)} jobs/s raw queue enqueue+claim+complete`,
    ratio: reelayPerS / queuePerS,
    goal: GOAL,
  };
  console.log(`  ${row.name}: ${row.figure} ÷ ${row.baseline} = ${row.ratio.toFixed(3)}`);
  const path = await writeResult("tasks", {
    goal: GOAL,
    n: N,
    concurrency: CONCURRENCY,
    creators: CREATORS,
    rounds: ROUNDS,
    reelay_tasks_per_s: Math.round(reelayPerS),
    queue_jobs_per_s: Math.round(queuePerS),
    ratio: ratio3(row.ratio),
    // Context, not the baseline: the worker's per-task file work alone caps what Reelay can do.
    file_work_tasks_per_s: Math.round(filesPerS),
    reelay_over_file_work: ratio3(reelayPerS / filesPerS),
    reelay_rounds: reelay,
    queue_rounds: queue,
    file_work_rounds: files,
  });
  console.log(`  results written to ${path}`);
  return [row];
}

/**
 * The whole app in this process, worker started; creates through `app.inject` until all complete.
 * With `databaseUrl`, on that (fresh) PostgreSQL database with pg-boss; else on SQLite.
 */
export async function reelayRound(
  n: number,
  opts: { databaseUrl?: string } = {},
): Promise<Round & { createsPerS: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), "reelay-bench-tasks-"));
  try {
    const base = loadConfig({
      REELAY_DATA_DIR: dataDir,
      REELAY_ADMIN_TOKEN: ADMIN_TOKEN,
      REELAY_LOG_LEVEL: "silent",
      PORT: "0",
      ...(opts.databaseUrl
        ? {
            REELAY_DATABASE_URL: opts.databaseUrl,
            REELAY_SIGNING_SECRET: "bench-signing-secret-0123456789abcdef",
          }
        : {}),
    });
    const config = { ...base, engine: { ...base.engine, concurrency: CONCURRENCY } };
    // The samples live in the data dir: the same filesystem as the work dirs, so links work.
    const samples = { video: join(dataDir, "sample.mp4"), thumbnail: join(dataDir, "sample.jpg") };
    await Promise.all([writeFile(samples.video, "video"), writeFile(samples.thumbnail, "thumb")]);
    const container = await buildContainer(config, pino({ level: "silent" }), {
      provider: instantProvider(samples),
    });
    const app = buildApp(container.services, {});
    try {
      await app.ready();
      container.worker.start();
      const keyRes = await app.inject({
        method: "POST",
        url: "/admin/keys",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        payload: {},
      });
      if (keyRes.statusCode !== 201)
        throw new Error(`POST /admin/keys → ${keyRes.statusCode} ${keyRes.body}`);
      const { key, owner_id: ownerId } = keyRes.json<{ key: string; owner_id: string }>();
      const queue = container.services.queue;

      // Warm-up (JIT, first files and directories), untimed.
      await createTasks(app, key, WARMUP);
      await drained(queue);

      const t0 = performance.now();
      await createTasks(app, key, n);
      const createdMs = performance.now() - t0;
      await drained(queue);
      const ms = performance.now() - t0;

      const counts = await statusesOf(container.services.engine, ownerId);
      if (counts.completed !== n + WARMUP) {
        throw new Error(`expected ${n + WARMUP} completed tasks, found ${JSON.stringify(counts)}`);
      }
      return { perS: n / (ms / 1000), ms, createsPerS: n / (createdMs / 1000) };
    } finally {
      await app.close();
      await container.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** `CREATORS` concurrent clients, each creating its share one after another. */
export async function createTasks(app: FastifyInstance, key: string, n: number): Promise<void> {
  let next = 0;
  const creator = async () => {
    while (next < n) {
      next++;
      const res = await app.inject({
        method: "POST",
        url: "/v1/video/create",
        headers: { authorization: `Bearer ${key}` },
        payload: CREATE_BODY,
      });
      if (res.statusCode !== 200) throw new Error(`POST /v1/video/create → ${res.statusCode} ${res.body}`);
    }
  };
  await Promise.all(Array.from({ length: CREATORS }, creator));
}

/** Resolves once no job is queued or running (completion deletes the job in the task's transaction). */
async function drained(queue: JobQueue): Promise<void> {
  const until = performance.now() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const d = await queue.depth(Date.now());
    if (d.dead > 0) throw new Error(`${d.dead} jobs went to the dead-letter state`);
    if (d.queued === 0 && d.running === 0) return;
    if (performance.now() > until)
      throw new Error(`queue not drained after ${DRAIN_TIMEOUT_MS} ms: ${JSON.stringify(d)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Counts the owner's tasks by status, through the engine's paged listing (not timed). */
async function statusesOf(engine: TaskEngine, ownerId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let after: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const { tasks, hasMore } = await engine.list(ownerId, { after, limit: 100, order: "asc" });
    for (const t of tasks) counts[t.status] = (counts[t.status] ?? 0) + 1;
    after = tasks.at(-1)?.id;
    if (!hasMore || after === undefined) break;
  }
  return counts;
}

/** A queue as the baseline drives it: add a job, take up to `limit`, finish one taken. */
export interface RawQueue<J> {
  send(i: number): Promise<unknown>;
  take(limit: number): Promise<J[]>;
  done(job: J): Promise<unknown>;
}

/**
 * The baseline's work, warmed up then timed: n jobs sent by CREATORS concurrent senders, then
 * taken CONCURRENCY at a time and each finished.
 */
export async function rawQueueRound<J>(n: number, q: RawQueue<J>): Promise<Round> {
  const cycle = async (count: number) => {
    let next = 0;
    const creator = async () => {
      while (next < count) await q.send(++next);
    };
    await Promise.all(Array.from({ length: CREATORS }, creator));
    let done = 0;
    while (done < count) {
      const jobs = await q.take(CONCURRENCY);
      if (jobs.length === 0) throw new Error(`queue ran dry after ${done} of ${count} jobs`);
      await Promise.all(jobs.map((j) => q.done(j)));
      done += jobs.length;
    }
  };
  await cycle(WARMUP);
  const t0 = performance.now();
  await cycle(n);
  const ms = performance.now() - t0;
  return { perS: n / (ms / 1000), ms };
}

/** The raw queue on a fresh database: enqueue n jobs (same creators), then claim/complete in batches. */
async function queueRound(n: number): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-bench-queue-"));
  try {
    const db = await openSqlite(dir);
    try {
      const queue = createSqlJobQueue(db.kysely, { now: () => Date.now() });
      return await rawQueueRound(n, {
        send: (i) =>
          queue.enqueue({
            payload: { kind: "render", version: 1, taskId: `task_${i}` },
            runAt: Date.now(),
            maxAttempts: 3,
          }),
        take: (limit) => queue.claim({ limit, leaseMs: 30_000, now: Date.now() }),
        done: (job) => queue.complete(job),
      });
    } finally {
      await db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Context for the figure, not its baseline: the file-system work the worker does per task (a
 * scratch dir made and removed, the provider's two files linked in, moved into the blob store
 * under a folder of the task's own), alone, with the same concurrency. Each new directory is a
 * new inode; on a disk where those are slow this, not the queue, is the cap.
 */
async function fileWorkRound(n: number): Promise<Round> {
  const dir = await mkdtemp(join(tmpdir(), "reelay-bench-files-"));
  try {
    const blobs = createFsBlobStore(join(dir, "blobs"));
    const samples = { video: join(dir, "sample.mp4"), thumbnail: join(dir, "sample.jpg") };
    await Promise.all([writeFile(samples.video, "video"), writeFile(samples.thumbnail, "thumb")]);
    const one = async (i: number) => {
      const workDir = join(dir, "tmp", `job_${i}-1`);
      await mkdir(workDir, { recursive: true });
      const video = join(workDir, "out.mp4");
      const thumb = join(workDir, "out.jpg");
      await Promise.all([link(samples.video, video), link(samples.thumbnail, thumb)]);
      await Promise.all([
        blobs.put(blobKeyFor(`task_${i}`, "attempt_1", "video.mp4"), video, "video/mp4"),
        blobs.put(blobKeyFor(`task_${i}`, "attempt_1", "thumbnail.jpg"), thumb, "image/jpeg"),
      ]);
      await rmdir(workDir);
    };
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < n) await one(next++);
      }),
    );
    const ms = performance.now() - t0;
    return { perS: n / (ms / 1000), ms };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runTasksBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
