/**
 * Requests/s of `GET /v1/video/query` (auth, a key lookup, a task read, the JSON view) under
 * autocannon, 50 connections, ÷ the same load against a bare node:http server sending the same
 * bytes (bench/baseline-server.ts). Goal ≥ 0.5. Each server runs in its own child process, so
 * autocannon (here) and the server each get a core of their own. Reelay runs as `npm start` runs
 * it (built, `node dist/main/serve.js`), with REELAY_WORKER_CONCURRENCY=0 so no render competes,
 * at log level info (the default: one JSON log line per request) and again at warn.
 *
 * This machine's speed swings by half from one minute to the next, so the three servers run side
 * by side and are loaded in turn, in a rotating order, for several rounds: each round's ratio
 * compares loads taken seconds apart, and the figures reported are the medians over rounds.
 * Run: `npx tsx bench/http.ts`.
 */
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import {
  buildReelay,
  type Child,
  createKey,
  createTask,
  freePort,
  type ReelayCommand,
  spawnNode,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { type Goal, int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const GOAL: Goal = { atLeast: 0.5 };
const CONNECTIONS = 50;

export interface HttpBenchOptions {
  /** How to start Reelay; built here when not given. */
  readonly reelay?: ReelayCommand;
  /** Seconds of measured load per server per round (default 8). */
  readonly durationS?: number;
  /** Unmeasured seconds per server before the first round (default 3). */
  readonly warmupS?: number;
  /** Rounds (default 3). */
  readonly rounds?: number;
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

interface Target {
  readonly name: "baseline" | "info" | "warn";
  readonly url: string;
  readonly headers: Record<string, string>;
  stop(): Promise<void>;
}

/** Runs the rounds, writes bench/results/http.json and returns the summary rows. */
export async function runHttpBench(opts: HttpBenchOptions = {}): Promise<SummaryRow[]> {
  const durationS = opts.durationS ?? 8;
  const warmupS = opts.warmupS ?? 3;
  const roundCount = opts.rounds ?? 3;
  const cmd = opts.reelay ?? (await buildReelay());

  const targets: Target[] = [];
  try {
    const info = await startReelay(cmd, "info");
    targets.push(info);
    targets.push(await startReelay(cmd, "warn"));
    targets.push(await startBaseline(info));
    for (const t of targets) {
      console.log(`  warming up ${t.name}…`);
      await load(t, warmupS);
    }
    const rounds: Record<Target["name"], Load>[] = [];
    for (let r = 0; r < roundCount; r++) {
      const round: Partial<Record<Target["name"], Load>> = {};
      // Rotate the order, so that no server always runs first (or right after another).
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + r) % targets.length] as Target;
        round[t.name] = await load(t, durationS);
      }
      const done = round as Record<Target["name"], Load>;
      rounds.push(done);
      console.log(
        `  round ${r + 1}/${roundCount}: bare ${int(done.baseline.requestsPerS)} req/s, ` +
          `Reelay info ${int(done.info.requestsPerS)} (${(done.info.requestsPerS / done.baseline.requestsPerS).toFixed(3)}), ` +
          `warn ${int(done.warn.requestsPerS)} (${(done.warn.requestsPerS / done.baseline.requestsPerS).toFixed(3)})`,
      );
    }
    return await report(cmd, rounds, { durationS, warmupS });
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}

async function report(
  cmd: ReelayCommand,
  rounds: Record<Target["name"], Load>[],
  o: { durationS: number; warmupS: number },
): Promise<SummaryRow[]> {
  const med = (name: Target["name"], f: (l: Load) => number) => median(rounds.map((r) => f(r[name])));
  const ratio = (name: "info" | "warn") =>
    median(rounds.map((r) => r[name].requestsPerS / r.baseline.requestsPerS));
  const fig = (name: Target["name"]) =>
    `${int(med(name, (l) => l.requestsPerS))} req/s (p50 ${med(name, (l) => l.latencyP50Ms)} ms, p99 ${med(name, (l) => l.latencyP99Ms)} ms)`;
  const base = `${int(med("baseline", (l) => l.requestsPerS))} req/s bare node:http`;
  const rows: SummaryRow[] = [
    {
      name: "HTTP GET /v1/video/query req/s, log info (default)",
      figure: fig("info"),
      baseline: base,
      ratio: ratio("info"),
      goal: GOAL,
    },
    {
      name: "HTTP GET /v1/video/query req/s, log warn",
      figure: fig("warn"),
      baseline: base,
      ratio: ratio("warn"),
      goal: GOAL,
    },
  ];
  for (const r of rows)
    console.log(
      `  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)} (medians of ${rounds.length} rounds)`,
    );
  const path = await writeResult("http", {
    goal: GOAL,
    reelay: cmd.description,
    connections: CONNECTIONS,
    warmup_s: o.warmupS,
    duration_s: o.durationS,
    baseline_server: "bench/baseline-server.ts (node:http, the same body)",
    ratio_info_median: ratio3(ratio("info")),
    ratio_warn_median: ratio3(ratio("warn")),
    rounds: rounds.map((r) => ({
      baseline: r.baseline,
      reelay_log_info: { ...r.info, ratio: ratio3(r.info.requestsPerS / r.baseline.requestsPerS) },
      reelay_log_warn: { ...r.warn, ratio: ratio3(r.warn.requestsPerS / r.baseline.requestsPerS) },
    })),
  });
  console.log(`  results written to ${path}`);
  return rows;
}

/** Starts Reelay, makes a key and one task, and checks the task's query route answers 200. */
async function startReelay(
  cmd: ReelayCommand,
  logLevel: "warn" | "info",
): Promise<Target & { body: string }> {
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
    return { name: logLevel, url, headers, body, stop: () => server.stop() };
  } catch (e) {
    await server.stop();
    throw e;
  }
}

/** The bare node:http server, sending the body Reelay answered with. */
async function startBaseline(like: { body: string }): Promise<Target> {
  const port = await freePort();
  // tsx only compiles the file at start; the request path is plain node:http.
  const child: Child = await spawnNode(["--import", "tsx", "bench/baseline-server.ts"], {
    PORT: String(port),
    BASELINE_BODY: like.body,
  });
  const url = `http://127.0.0.1:${port}/v1/video/query`;
  try {
    await waitUntilOk(child, url);
  } catch (e) {
    await child.stop();
    throw e;
  }
  return { name: "baseline", url, headers: {}, stop: () => child.stop() };
}

/** One load of `durationS` seconds; only 2xx answers count. */
async function load(t: Target, durationS: number): Promise<Load> {
  const r = await autocannon({
    url: t.url,
    headers: t.headers,
    connections: CONNECTIONS,
    duration: durationS,
  });
  // A fast stream of 401s or 500s would look like a great figure: refuse it.
  if (r.non2xx > 0 || r["2xx"] === 0) {
    throw new Error(`${t.url}: ${r.non2xx} non-2xx answers, ${r["2xx"]} 2xx, ${r.errors} errors`);
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
