/**
 * Requests/s of Reelay's hottest routes under autocannon, 50 connections, each ÷ the same load
 * against a bare node:http server doing the least that route must do:
 * - `GET /v1/video/query` (auth, a key lookup, a task read, its attempts, the JSON view) and
 *   `GET /v1/videos/{id}` ÷ bench/baseline-server.ts sending the same bytes; goal ≥ 0.7, at log
 *   level info (the default: one access-log line per request); query again at warn;
 * - `POST /v1/video/create` (durable: its 200 comes after the commit, fsynced) ÷
 *   bench/baseline-create-server.ts, which parses the same body and inserts the same rows (read
 *   back from Reelay's database) in one `synchronous=FULL` SQLite transaction; goal ≥ 0.5.
 * Each server runs in its own child process, so autocannon (here) and the server each get a core
 * of their own. Reelay runs as `npm start` runs it (built, `node dist/main/serve.js`), with
 * REELAY_WORKER_CONCURRENCY=0 so no render competes; creates go to a Reelay process of their own
 * (the tasks they queue do not grow the database the reads run on).
 *
 * This machine's speed swings by half from one minute to the next, so the servers run side by
 * side and are loaded in turn, in a rotating order, for several rounds: each round's ratio
 * compares loads taken seconds apart, and the figures reported are the medians over rounds.
 * Run: `npx tsx bench/http.ts`.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { readCreateTemplate } from "./lib/create-rows.js";
import {
  buildReelay,
  type Child,
  CREATE_BODY,
  createKey,
  createTask,
  freePort,
  type ReelayCommand,
  type ReelayServer,
  spawnNode,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { type Goal, int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const READ_GOAL: Goal = { atLeast: 0.7 };
const CREATE_GOAL: Goal = { atLeast: 0.5 };
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

/** One server under one kind of load. */
interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly method: "GET" | "POST";
  readonly headers: Record<string, string>;
  readonly body?: string;
}

const TARGETS = [
  "query_bare",
  "query_info",
  "query_warn",
  "videos_bare",
  "videos_info",
  "create_bare",
  "create_info",
] as const;
type TargetName = (typeof TARGETS)[number];
type Round = Record<TargetName, Load>;

/** What a figure is: Reelay's target ÷ the bare one. */
const FIGURES = [
  {
    name: "HTTP GET /v1/video/query req/s, log info (default)",
    reelay: "query_info",
    bare: "query_bare",
    goal: READ_GOAL,
  },
  {
    name: "HTTP GET /v1/video/query req/s, log warn",
    reelay: "query_warn",
    bare: "query_bare",
    goal: READ_GOAL,
  },
  {
    name: "HTTP GET /v1/videos/{id} req/s, log info (default)",
    reelay: "videos_info",
    bare: "videos_bare",
    goal: READ_GOAL,
  },
  {
    name: "HTTP POST /v1/video/create req/s (durable), log info",
    reelay: "create_info",
    bare: "create_bare",
    goal: CREATE_GOAL,
  },
] as const;

/** Runs the rounds, writes bench/results/http.json and returns the summary rows. */
export async function runHttpBench(opts: HttpBenchOptions = {}): Promise<SummaryRow[]> {
  const durationS = opts.durationS ?? 8;
  const warmupS = opts.warmupS ?? 3;
  const roundCount = opts.rounds ?? 3;
  const cmd = opts.reelay ?? (await buildReelay());

  const stops: (() => Promise<void>)[] = [];
  try {
    const info = await startReelay(cmd, "info", stops);
    const warn = await startReelay(cmd, "warn", stops);
    const creator = await startReelay(cmd, "info", stops);
    const bare = await startBaseline(info, stops);
    const bareCreate = await startCreateBaseline(creator, stops);
    const create = { method: "POST" as const, body: JSON.stringify(CREATE_BODY) };
    const json = { "content-type": "application/json" };
    const targets: Target[] = [
      { name: "query_bare", url: bare.queryUrl, method: "GET", headers: {} },
      { name: "query_info", url: info.queryUrl, method: "GET", headers: info.auth },
      { name: "query_warn", url: warn.queryUrl, method: "GET", headers: warn.auth },
      { name: "videos_bare", url: bare.videosUrl, method: "GET", headers: {} },
      { name: "videos_info", url: info.videosUrl, method: "GET", headers: info.auth },
      { name: "create_bare", url: bareCreate, headers: json, ...create },
      {
        name: "create_info",
        url: `${creator.server.url}/v1/video/create`,
        headers: { ...creator.auth, ...json },
        ...create,
      },
    ];
    for (const t of targets) {
      console.log(`  warming up ${t.name}…`);
      await load(t, warmupS);
    }
    const rounds: Round[] = [];
    for (let r = 0; r < roundCount; r++) {
      const round: Partial<Round> = {};
      // Rotate the order, so that no server always runs first (or right after another).
      for (let i = 0; i < targets.length; i++) {
        const t = targets[(i + r) % targets.length] as Target;
        round[t.name] = await load(t, durationS);
      }
      const done = round as Round;
      rounds.push(done);
      console.log(
        `  round ${r + 1}/${roundCount}: ${FIGURES.map(
          (f) =>
            `${f.reelay} ${int(done[f.reelay].requestsPerS)}/${int(done[f.bare].requestsPerS)} req/s (${(done[f.reelay].requestsPerS / done[f.bare].requestsPerS).toFixed(3)})`,
        ).join(", ")}`,
      );
    }
    return await report(cmd, rounds, { durationS, warmupS });
  } finally {
    await Promise.all(stops.map((stop) => stop()));
  }
}

async function report(
  cmd: ReelayCommand,
  rounds: Round[],
  o: { durationS: number; warmupS: number },
): Promise<SummaryRow[]> {
  const med = (name: TargetName, f: (l: Load) => number) => median(rounds.map((r) => f(r[name])));
  const ratio = (a: TargetName, b: TargetName) =>
    median(rounds.map((r) => r[a].requestsPerS / r[b].requestsPerS));
  const fig = (name: TargetName) =>
    `${int(med(name, (l) => l.requestsPerS))} req/s (p50 ${med(name, (l) => l.latencyP50Ms)} ms, p99 ${med(name, (l) => l.latencyP99Ms)} ms)`;
  const rows: SummaryRow[] = FIGURES.map((f) => ({
    name: f.name,
    figure: fig(f.reelay),
    baseline: `${int(med(f.bare, (l) => l.requestsPerS))} req/s bare node:http${f.bare === "create_bare" ? " + the same SQLite insert" : ""}`,
    ratio: ratio(f.reelay, f.bare),
    goal: f.goal,
  }));
  for (const r of rows)
    console.log(
      `  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)} (medians of ${rounds.length} rounds)`,
    );
  const path = await writeResult("http", {
    goals: { reads: READ_GOAL, create: CREATE_GOAL },
    reelay: cmd.description,
    connections: CONNECTIONS,
    warmup_s: o.warmupS,
    duration_s: o.durationS,
    baseline_server: "bench/baseline-server.ts (node:http, the same body)",
    baseline_create_server:
      "bench/baseline-create-server.ts (node:http, JSON.parse, the same rows in one SQLite WAL synchronous=FULL transaction)",
    ratio_info_median: ratio3(ratio("query_info", "query_bare")),
    ratio_warn_median: ratio3(ratio("query_warn", "query_bare")),
    ratio_videos_info_median: ratio3(ratio("videos_info", "videos_bare")),
    ratio_create_median: ratio3(ratio("create_info", "create_bare")),
    rounds: rounds.map((r) =>
      Object.fromEntries(
        TARGETS.map((t) => {
          const f = FIGURES.find((x) => x.reelay === t);
          return [t, f ? { ...r[t], ratio: ratio3(r[t].requestsPerS / r[f.bare].requestsPerS) } : r[t]];
        }),
      ),
    ),
  });
  console.log(`  results written to ${path}`);
  return rows;
}

interface StartedReelay {
  readonly server: ReelayServer;
  readonly auth: Record<string, string>;
  readonly key: string;
  readonly queryUrl: string;
  readonly videosUrl: string;
  /** The answers Reelay gave to the two reads, for the baseline to send the same bytes. */
  readonly queryBody: string;
  readonly videosBody: string;
}

/** Starts Reelay, makes a key and one task, and checks both read routes answer 200. */
async function startReelay(
  cmd: ReelayCommand,
  logLevel: "warn" | "info",
  stops: (() => Promise<void>)[],
): Promise<StartedReelay> {
  const server = await spawnReelay(cmd, { REELAY_LOG_LEVEL: logLevel, REELAY_WORKER_CONCURRENCY: "0" });
  stops.push(() => server.stop());
  await waitUntilOk(server.child, `${server.url}/healthz`);
  const key = await createKey(server.url);
  const id = await createTask(server.url, key);
  const auth = { authorization: `Bearer ${key}` };
  const queryUrl = `${server.url}/v1/video/query?id=${encodeURIComponent(id)}`;
  const videosUrl = `${server.url}/v1/videos/${encodeURIComponent(id)}`;
  const read = async (url: string) => {
    const res = await fetch(url, { headers: auth });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`GET ${url} → ${res.status} ${body}`);
    return body;
  };
  return {
    server,
    auth,
    key,
    queryUrl,
    videosUrl,
    queryBody: await read(queryUrl),
    videosBody: await read(videosUrl),
  };
}

/** The bare node:http server, sending the bodies Reelay answered with. */
async function startBaseline(
  like: StartedReelay,
  stops: (() => Promise<void>)[],
): Promise<{ queryUrl: string; videosUrl: string }> {
  const port = await freePort();
  // tsx only compiles the file at start; the request path is plain node:http.
  const child: Child = await spawnNode(["--import", "tsx", "bench/baseline-server.ts"], {
    PORT: String(port),
    BASELINE_BODY: like.queryBody,
    BASELINE_VIDEOS_BODY: like.videosBody,
  });
  stops.push(() => child.stop());
  const base = `http://127.0.0.1:${port}`;
  await waitUntilOk(child, `${base}/v1/video/query`);
  return { queryUrl: `${base}/v1/video/query`, videosUrl: `${base}/v1/videos/x` };
}

/**
 * The bare create server, inserting the rows Reelay's create wrote for one task (made here) and
 * answering with the bytes Reelay answered.
 */
async function startCreateBaseline(like: StartedReelay, stops: (() => Promise<void>)[]): Promise<string> {
  const res = await fetch(`${like.server.url}/v1/video/create`, {
    method: "POST",
    headers: { ...like.auth, "content-type": "application/json" },
    body: JSON.stringify(CREATE_BODY),
  });
  const response = await res.text();
  if (res.status !== 200) throw new Error(`POST /v1/video/create → ${res.status} ${response}`);
  const template = readCreateTemplate(
    like.server.dataDir,
    (JSON.parse(response) as { id: string }).id,
    response,
  );
  const dir = await mkdtemp(join(tmpdir(), "reelay-bench-create-"));
  stops.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, "template.json");
  await writeFile(file, JSON.stringify(template));
  const port = await freePort();
  const child: Child = await spawnNode(["--import", "tsx", "bench/baseline-create-server.ts"], {
    PORT: String(port),
    BASELINE_CREATE: file,
    DATA_DIR: dir,
  });
  stops.unshift(() => child.stop()); // stopped before its dir is removed
  const url = `http://127.0.0.1:${port}/v1/video/create`;
  const probe = await waitForCreate(child, url);
  if (probe !== 200) throw new Error(`baseline create → ${probe}: ${await child.output()}`);
  return url;
}

/** Posts one create to the baseline once it listens (a GET tells that); its status. */
async function waitForCreate(child: Child, url: string): Promise<number> {
  await waitUntilOk(child, url);
  const res = await fetch(url, { method: "POST", body: JSON.stringify(CREATE_BODY) });
  await res.arrayBuffer();
  return res.status;
}

/** One load of `durationS` seconds; only 2xx answers count. */
async function load(t: Target, durationS: number): Promise<Load> {
  const r = await autocannon({
    url: t.url,
    method: t.method,
    headers: t.headers,
    ...(t.body === undefined ? {} : { body: t.body }),
    connections: CONNECTIONS,
    duration: durationS,
  });
  // A fast stream of 401s or 500s would look like a great figure: refuse it.
  if (r.non2xx > 0 || r["2xx"] === 0) {
    throw new Error(`${t.name} ${t.url}: ${r.non2xx} non-2xx answers, ${r["2xx"]} 2xx, ${r.errors} errors`);
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
