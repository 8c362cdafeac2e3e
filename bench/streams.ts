/**
 * What open Server-Sent Event streams cost a Reelay process (built, `node dist/main/serve.js`,
 * REELAY_WORKER_CONCURRENCY=0 so the tasks stay queued and their streams stay open):
 * RSS with 1,000 streams open on `GET /v1/video/events` (100 tasks, 10 streams each, every one
 * past its first event) ÷ the same process's RSS idle just before (its tasks made, no stream), and
 * the difference per stream in KiB. Then one change to each task wakes its 10 streams: the RSS
 * after that wave is reported the same way. Medians of 3 runs. No goal: reported so growth shows.
 * Run: `npx tsx bench/streams.ts`.
 */
import { type ClientRequest, request } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import {
  buildReelay,
  createKey,
  createTask,
  type ReelayCommand,
  rssKiB,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const RUNS = 3;
const TASKS = 100;
const PER_TASK = 10;
const STREAMS = TASKS * PER_TASK;
/** Time left to the process (and its GC) before its RSS is read. */
const SETTLE_MS = 2000;

interface Run {
  readonly idleKiB: number;
  readonly openKiB: number;
  readonly afterWaveKiB: number;
}

/** Opens one stream and resolves once its first event has come; the stream stays open. */
function openStream(url: string, key: string): Promise<{ req: ClientRequest; events: () => number }> {
  return new Promise((resolve, reject) => {
    let text = "";
    let events = 0;
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`${url} → ${res.statusCode}`));
        res.resume();
        return;
      }
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        events = text.match(/^id: /gm)?.length ?? 0;
        if (events >= 1) resolve({ req, events: () => events });
      });
    });
    req.on("error", reject);
    req.end();
  });
}

async function measure(cmd: ReelayCommand): Promise<Run> {
  const server = await spawnReelay(cmd, {
    REELAY_WORKER_CONCURRENCY: "0",
    REELAY_EVENTS_MAX_STREAMS_PER_KEY: String(STREAMS),
  });
  const streams: { req: ClientRequest; events: () => number }[] = [];
  try {
    await waitUntilOk(server.child, `${server.url}/healthz`);
    const key = await createKey(server.url);
    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) ids.push(await createTask(server.url, key));
    await sleep(SETTLE_MS);
    const idleKiB = await rssKiB(server.child.pid);
    for (const id of ids) {
      const url = `${server.url}/v1/video/events?id=${encodeURIComponent(id)}`;
      for (let j = 0; j < PER_TASK; j++) streams.push(await openStream(url, key));
    }
    await sleep(SETTLE_MS);
    const openKiB = await rssKiB(server.child.pid);
    // A wave: each task cancelled, so every stream gets its last event and ends.
    for (const id of ids) {
      const res = await fetch(`${server.url}/v1/video/cancel?id=${encodeURIComponent(id)}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
      });
      if (res.status !== 200) throw new Error(`cancel → ${res.status} ${await res.text()}`);
    }
    const until = Date.now() + 30_000;
    while (streams.some((s) => s.events() < 2) && Date.now() < until) await sleep(50);
    const missed = streams.filter((s) => s.events() < 2).length;
    if (missed > 0) throw new Error(`${missed} of ${STREAMS} streams did not get the cancel`);
    await sleep(SETTLE_MS);
    const afterWaveKiB = await rssKiB(server.child.pid);
    return { idleKiB, openKiB, afterWaveKiB };
  } finally {
    for (const s of streams) s.req.destroy();
    await server.stop();
  }
}

/** Runs RUNS rounds, writes bench/results/streams.json and returns the summary rows. */
export async function runStreamsBench(opts: { reelay?: ReelayCommand } = {}): Promise<SummaryRow[]> {
  const cmd = opts.reelay ?? (await buildReelay());
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await measure(cmd);
    runs.push(r);
    console.log(
      `  run ${i + 1}: idle ${mb(r.idleKiB)}, ${STREAMS} streams open ${mb(r.openKiB)}, after the wave ${mb(r.afterWaveKiB)}`,
    );
  }
  const m = (f: (r: Run) => number) => median(runs.map(f));
  const idle = m((r) => r.idleKiB);
  const open = m((r) => r.openKiB);
  const wave = m((r) => r.afterWaveKiB);
  const perStream = (open - idle) / STREAMS;
  const rows: SummaryRow[] = [
    {
      name: `RSS with ${STREAMS} open SSE streams (${(perStream).toFixed(1)} KiB a stream)`,
      figure: mb(open),
      baseline: `${mb(idle)} same process idle`,
      ratio: open / idle,
      goal: null,
    },
    {
      name: `RSS after every stream got a live event and ended`,
      figure: mb(wave),
      baseline: `${mb(idle)} same process idle`,
      ratio: wave / idle,
      goal: null,
    },
  ];
  for (const r of rows) console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(2)}`);
  const path = await writeResult("streams", {
    reelay: cmd.description,
    runs: RUNS,
    tasks: TASKS,
    streams: STREAMS,
    settle_ms: SETTLE_MS,
    median: {
      idle_kib: idle,
      open_kib: open,
      after_wave_kib: wave,
      open_ratio: ratio3(open / idle),
      after_wave_ratio: ratio3(wave / idle),
      per_stream_kib: Number(perStream.toFixed(1)),
    },
    all_runs: runs,
  });
  console.log(`  results written to ${path}`);
  return rows;
}

const mb = (kib: number): string => `${int(kib / 1024)} MiB`;

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runStreamsBench().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
