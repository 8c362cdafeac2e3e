/**
 * Requests/s of `GET /v1/video/query` (auth, a key lookup, a task read, the JSON view) under
 * autocannon, 50 connections, ÷ the same load against a bare node:http server sending the same
 * bytes (bench/baseline-server.ts). Goal ≥ 0.5. Each server runs in its own child process, so
 * autocannon (here) and the server each get a core of their own. Reelay runs as `npm start` runs
 * it (built, `node dist/main/serve.js`), with REELAY_WORKER_CONCURRENCY=0 so no render competes,
 * at log level warn, and again at info (the default: one JSON log line per request).
 * Run: `npx tsx bench/http.ts`.
 */
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import {
  buildReelay,
  createKey,
  createTask,
  freePort,
  type ReelayCommand,
  spawnNode,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { type Goal, int, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const GOAL: Goal = { atLeast: 0.5 };
const CONNECTIONS = 50;

export interface HttpBenchOptions {
  /** How to start Reelay; built here when not given. */
  readonly reelay?: ReelayCommand;
  /** Seconds of measured load per server (default 10), after `warmupS` (default 2) unmeasured. */
  readonly durationS?: number;
  readonly warmupS?: number;
}

interface Load {
  readonly requestsPerS: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly latencyAvgMs: number;
  readonly requests: number;
  readonly durationS: number;
  readonly errors: number;
  readonly timeouts: number;
}

/** Runs the three loads, writes bench/results/http.json and returns the summary rows. */
export async function runHttpBench(opts: HttpBenchOptions = {}): Promise<SummaryRow[]> {
  const durationS = opts.durationS ?? 10;
  const warmupS = opts.warmupS ?? 2;
  const cmd = opts.reelay ?? (await buildReelay());
  const hammer = (url: string, headers: Record<string, string> = {}) =>
    load(url, headers, warmupS, durationS);

  const warn = await withReelay(cmd, "warn", hammer);
  const baseline = await withBaseline(warn.body, hammer);
  const info = await withReelay(cmd, "info", hammer);

  const rows: SummaryRow[] = [
    {
      name: "HTTP GET /v1/video/query req/s, log warn",
      figure: `${int(warn.load.requestsPerS)} req/s (p50 ${warn.load.latencyP50Ms} ms, p99 ${warn.load.latencyP99Ms} ms)`,
      baseline: `${int(baseline.requestsPerS)} req/s bare node:http (p50 ${baseline.latencyP50Ms} ms, p99 ${baseline.latencyP99Ms} ms)`,
      ratio: warn.load.requestsPerS / baseline.requestsPerS,
      goal: GOAL,
    },
    {
      name: "HTTP GET /v1/video/query req/s, log info",
      figure: `${int(info.load.requestsPerS)} req/s (p50 ${info.load.latencyP50Ms} ms, p99 ${info.load.latencyP99Ms} ms)`,
      baseline: `${int(baseline.requestsPerS)} req/s bare node:http`,
      ratio: info.load.requestsPerS / baseline.requestsPerS,
      goal: GOAL,
    },
  ];
  for (const r of rows) console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)}`);
  const path = await writeResult("http", {
    goal: GOAL,
    reelay: cmd.description,
    connections: CONNECTIONS,
    warmup_s: warmupS,
    duration_s: durationS,
    response_bytes: Buffer.byteLength(warn.body),
    baseline: { server: "bench/baseline-server.ts (node:http, same body)", ...baseline },
    reelay_log_warn: { ...warn.load, ratio: ratio3(warn.load.requestsPerS / baseline.requestsPerS) },
    reelay_log_info: { ...info.load, ratio: ratio3(info.load.requestsPerS / baseline.requestsPerS) },
  });
  console.log(`  results written to ${path}`);
  return rows;
}

/** Starts Reelay, makes a key and one task, and loads the task's query route. */
async function withReelay(
  cmd: ReelayCommand,
  logLevel: "warn" | "info",
  hammer: (url: string, headers: Record<string, string>) => Promise<Load>,
): Promise<{ load: Load; body: string }> {
  const server = await spawnReelay(cmd, { REELAY_LOG_LEVEL: logLevel, REELAY_WORKER_CONCURRENCY: "0" });
  try {
    await waitUntilOk(server.child, `${server.url}/healthz`);
    const key = await createKey(server.url);
    const id = await createTask(server.url, key);
    const url = `${server.url}/v1/video/query?id=${encodeURIComponent(id)}`;
    const headers = { authorization: `Bearer ${key}` };
    const res = await fetch(url, { headers });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET /v1/video/query → ${res.status} ${body}`);
    console.log(`  Reelay (log ${logLevel}): ${CONNECTIONS} connections on GET /v1/video/query…`);
    return { load: await hammer(url, headers), body };
  } finally {
    await server.stop();
  }
}

async function withBaseline(
  body: string,
  hammer: (url: string, headers: Record<string, string>) => Promise<Load>,
): Promise<Load> {
  const port = await freePort();
  // tsx only compiles the file at start; the request path is plain node:http.
  const child = await spawnNode(["--import", "tsx", "bench/baseline-server.ts"], {
    PORT: String(port),
    BASELINE_BODY: body,
  });
  try {
    const url = `http://127.0.0.1:${port}/v1/video/query`;
    await waitUntilOk(child, url);
    console.log(`  bare node:http (${Buffer.byteLength(body)}-byte body): ${CONNECTIONS} connections…`);
    return await hammer(url, {});
  } finally {
    await child.stop();
  }
}

/** An unmeasured warm-up (JIT, connection set-up), then the measured run. Only 2xx count. */
async function load(
  url: string,
  headers: Record<string, string>,
  warmupS: number,
  durationS: number,
): Promise<Load> {
  await autocannon({ url, headers, connections: CONNECTIONS, duration: warmupS });
  const r = await autocannon({ url, headers, connections: CONNECTIONS, duration: durationS });
  // A fast stream of 401s or 500s would look like a great figure: refuse it.
  if (r.non2xx > 0 || r["2xx"] === 0) {
    throw new Error(`${url}: ${r.non2xx} non-2xx answers, ${r["2xx"]} 2xx, ${r.errors} errors`);
  }
  return {
    requestsPerS: r["2xx"] / r.duration,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyAvgMs: r.latency.average,
    requests: r["2xx"],
    durationS: r.duration,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runHttpBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
