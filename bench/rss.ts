/**
 * Footprint and start-up of a Reelay process (built, `node dist/main/serve.js`, as `npm start`
 * runs it; REELAY_WORKER_CONCURRENCY=0 so queued tasks stay queued):
 * - RSS idle after start, and with 1,000 queued tasks, ÷ the RSS of a bare idling `node -e`
 *   (same node binary), and ÷ the goals (issue 21: idle ≤ 80 MiB, 1,000 queued ≤ 120 MiB);
 * - time from spawn to `/healthz` answering 200 ÷ the same for a bare `node -e` http server.
 * Medians of 3 runs, a fresh data dir each (so start-up includes creating the database).
 * Run: `npx tsx bench/rss.ts`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  buildReelay,
  createKey,
  createTask,
  freePort,
  type ReelayCommand,
  rssKiB,
  spawnNode,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const RUNS = 3;
const QUEUED = 1000;
const IDLE_GOAL_MIB = 80;
const QUEUED_GOAL_MIB = 120;
/** Time left to a process after start (or after the creates) before its RSS is read. */
const SETTLE_MS = 2000;

const BARE_IDLE = "setInterval(() => {}, 1 << 30)";
const BARE_HTTP =
  'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "127.0.0.1")';

interface Run {
  readonly reelayStartMs: number;
  readonly reelayIdleKiB: number;
  readonly reelayQueuedKiB: number;
  readonly bareStartMs: number;
  readonly bareIdleKiB: number;
}

/** Runs RUNS rounds, writes bench/results/rss.json and returns the summary rows. */
export async function runRssBench(opts: { reelay?: ReelayCommand } = {}): Promise<SummaryRow[]> {
  const cmd = opts.reelay ?? (await buildReelay());
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const reelay = await measureReelay(cmd);
    const bareStartMs = await measureBareStart();
    const bareIdleKiB = await measureBareIdle();
    runs.push({ ...reelay, bareStartMs, bareIdleKiB });
    console.log(
      `  run ${i + 1}: Reelay start ${int(reelay.reelayStartMs)} ms, idle ${mb(reelay.reelayIdleKiB)}, ` +
        `${QUEUED} queued ${mb(reelay.reelayQueuedKiB)}; bare node start ${int(bareStartMs)} ms, idle ${mb(bareIdleKiB)}`,
    );
  }
  const m = (f: (r: Run) => number) => median(runs.map(f));
  const idle = m((r) => r.reelayIdleKiB);
  const queued = m((r) => r.reelayQueuedKiB);
  const bareIdle = m((r) => r.bareIdleKiB);
  const start = m((r) => r.reelayStartMs);
  const bareStart = m((r) => r.bareStartMs);
  const rows: SummaryRow[] = [
    {
      name: "RSS idle after start",
      figure: mb(idle),
      baseline: `${mb(bareIdle)} bare idle node`,
      ratio: idle / bareIdle,
      goal: null,
    },
    {
      name: `RSS with ${QUEUED} queued tasks`,
      figure: mb(queued),
      baseline: `${mb(bareIdle)} bare idle node`,
      ratio: queued / bareIdle,
      goal: null,
    },
    {
      name: "RSS idle after start ÷ its goal",
      figure: mb(idle),
      baseline: `${IDLE_GOAL_MIB} MiB goal`,
      ratio: idle / 1024 / IDLE_GOAL_MIB,
      goal: { atMost: 1 },
    },
    {
      name: `RSS with ${QUEUED} queued tasks ÷ its goal`,
      figure: mb(queued),
      baseline: `${QUEUED_GOAL_MIB} MiB goal`,
      ratio: queued / 1024 / QUEUED_GOAL_MIB,
      goal: { atMost: 1 },
    },
    {
      name: "start: spawn → /healthz 200 (median of 3)",
      figure: `${int(start)} ms`,
      baseline: `${int(bareStart)} ms bare node http server`,
      ratio: start / bareStart,
      goal: null,
    },
  ];
  for (const r of rows) console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(2)}`);
  const path = await writeResult("rss", {
    reelay: cmd.description,
    runs: RUNS,
    queued_tasks: QUEUED,
    settle_ms: SETTLE_MS,
    median: {
      reelay_idle_kib: idle,
      reelay_queued_kib: queued,
      bare_idle_kib: bareIdle,
      idle_ratio: ratio3(idle / bareIdle),
      queued_ratio: ratio3(queued / bareIdle),
      idle_goal_mib: IDLE_GOAL_MIB,
      idle_goal_ratio: ratio3(idle / 1024 / IDLE_GOAL_MIB),
      queued_goal_mib: QUEUED_GOAL_MIB,
      queued_goal_ratio: ratio3(queued / 1024 / QUEUED_GOAL_MIB),
      reelay_start_ms: Math.round(start),
      bare_start_ms: Math.round(bareStart),
      start_ratio: ratio3(start / bareStart),
    },
    all_runs: runs,
  });
  console.log(`  results written to ${path}`);
  return rows;
}

async function measureReelay(
  cmd: ReelayCommand,
): Promise<Pick<Run, "reelayStartMs" | "reelayIdleKiB" | "reelayQueuedKiB">> {
  const server = await spawnReelay(cmd, { REELAY_WORKER_CONCURRENCY: "0" });
  try {
    const reelayStartMs = await waitUntilOk(server.child, `${server.url}/healthz`);
    await sleep(SETTLE_MS);
    const reelayIdleKiB = await rssKiB(server.child.pid);
    const key = await createKey(server.url);
    // 8 creates in flight: a client's pace, and the 1,000 are made in seconds.
    for (let i = 0; i < QUEUED; i += 8) {
      await Promise.all(Array.from({ length: Math.min(8, QUEUED - i) }, () => createTask(server.url, key)));
    }
    const ready = (await (await fetch(`${server.url}/readyz`)).json()) as { queue?: { queued?: number } };
    if (ready.queue?.queued !== QUEUED)
      throw new Error(`expected ${QUEUED} queued jobs: ${JSON.stringify(ready)}`);
    await sleep(SETTLE_MS);
    const reelayQueuedKiB = await rssKiB(server.child.pid);
    return { reelayStartMs, reelayIdleKiB, reelayQueuedKiB };
  } finally {
    await server.stop();
  }
}

async function measureBareStart(): Promise<number> {
  const port = await freePort();
  const child = await spawnNode(["-e", BARE_HTTP], { PORT: String(port) });
  try {
    return await waitUntilOk(child, `http://127.0.0.1:${port}/healthz`);
  } finally {
    await child.stop();
  }
}

async function measureBareIdle(): Promise<number> {
  const child = await spawnNode(["-e", BARE_IDLE], {});
  try {
    await sleep(SETTLE_MS);
    return await rssKiB(child.pid);
  } finally {
    await child.stop();
  }
}

const mb = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runRssBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
