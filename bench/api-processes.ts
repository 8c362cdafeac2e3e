/**
 * Scale-out of the API: requests/s of 2 `reelay serve` processes ÷ 1 on a create + query load
 * (each connection sends one `POST /v1/video/create` then three `GET /v1/video/query` of a task,
 * over and over), on one PostgreSQL database with pg-boss, as deployed behind a load balancer.
 * autocannon runs here, one instance per API process (a client-side balancer), CONNECTIONS each.
 *
 * This machine has 2 cores for the load generator, PostgreSQL and the API processes together, so
 * unlimited API processes measure the cores, not the scale-out. Each API process therefore runs
 * with a CPU quota of API_CORES of one core (a cgroup of its own, bench/lib/cgroup.ts): 1 or 2 of
 * them at that slice leave the rest of the machine to autocannon and PostgreSQL, and the ratio
 * shows what a second process of the same size adds when it has a core of its own, with the
 * shared database and queue in the path. Where cgroups cannot be written (not root) the processes
 * run unlimited and the results say so. Reported either way, per case: requests per CPU-second of
 * the API processes (from /proc: the same in both cases when nothing shared slows a process
 * down), the load generator's own CPU, and the machine's busy cores.
 *
 * Rounds alternate the order of the two cases; a fresh database per case; medians of ROUNDS.
 * Run: `npx tsx bench/api-processes.ts` (ROUNDS=…, DURATION_S=…, API_CORES=… to change them).
 */
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import { type CpuSlice, limitCpu } from "./lib/cgroup.js";
import { coresBusy, loadAverage, machineSample, processCpuS } from "./lib/cpu.js";
import { benchPostgres, withDatabase } from "./lib/pg.js";
import {
  buildReelay,
  CREATE_BODY,
  createKey,
  createTask,
  type ReelayCommand,
  type ReelayServer,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { type Goal, int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const GOAL: Goal = { atLeast: 1.8 };
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const DURATION_S = Number(process.env.DURATION_S ?? 10);
const WARMUP_S = 3;
const CONNECTIONS = 16;
const API_CORES = Number(process.env.API_CORES ?? 0.3);
const SIGNING_SECRET = "bench-signing-secret-0123456789abcdef";

interface CaseResult {
  requestsPerS: number;
  createsPerS: number;
  /** Requests per CPU-second of the API processes. */
  perApiCpuS: number;
  /** CPU the load generator (this process) used, in cores. */
  loadgenCores: number;
  /** Cores busy on the machine (whoever used them). */
  machineCores: number;
  p99Ms: number;
}

interface Api {
  readonly server: ReelayServer;
  readonly limit: CpuSlice | null;
  /** What each connection sends in turn. */
  readonly requests: readonly {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string;
  }[];
}

async function startApis(cmd: ReelayCommand, databaseUrl: string, n: number): Promise<Api[]> {
  const servers: ReelayServer[] = [];
  const apis: Api[] = [];
  try {
    for (let i = 0; i < n; i++) {
      servers.push(
        await spawnReelay(
          { ...cmd, args: [...cmd.args, "serve"] },
          {
            REELAY_DATABASE_URL: databaseUrl,
            REELAY_SIGNING_SECRET: SIGNING_SECRET,
            REELAY_LOG_LEVEL: "info",
          },
        ),
      );
    }
    for (const s of servers) await waitUntilOk(s.child, `${s.url}/healthz`, 60_000, 50);
    const first = servers[0] as ReelayServer;
    const key = await createKey(first.url);
    const id = await createTask(first.url, key);
    const auth = { authorization: `Bearer ${key}` };
    const query = { method: "GET", path: `/v1/video/query?id=${encodeURIComponent(id)}`, headers: auth };
    const create = {
      method: "POST",
      path: "/v1/video/create",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify(CREATE_BODY),
    };
    for (const s of servers) {
      apis.push({
        server: s,
        limit: await limitCpu(s.child.pid, API_CORES),
        requests: [create, query, query, query],
      });
    }
    return apis;
  } catch (e) {
    await stopApis(apis.length > 0 ? apis : servers.map((server) => ({ server, limit: null, requests: [] })));
    throw e;
  }
}

async function stopApis(apis: readonly Api[]): Promise<void> {
  for (const a of apis) {
    await a.server.stop().catch(() => undefined);
    await a.limit?.remove();
  }
}

/** Loads every API at once for `durationS`; only 2xx answers count. */
async function loadAll(apis: readonly Api[], durationS: number) {
  const results = await Promise.all(
    apis.map((a) =>
      autocannon({ url: a.server.url, connections: CONNECTIONS, duration: durationS, requests: a.requests }),
    ),
  );
  for (const r of results) {
    if (r.non2xx > 0 || r["2xx"] === 0) {
      throw new Error(`${r.non2xx} non-2xx answers, ${r["2xx"]} 2xx, ${r.errors} errors`);
    }
  }
  return results;
}

async function runCase(cmd: ReelayCommand, serverUrl: string, n: number): Promise<CaseResult> {
  return withDatabase(serverUrl, async (databaseUrl) => {
    const apis = await startApis(cmd, databaseUrl, n);
    try {
      await loadAll(apis, WARMUP_S);
      const pids = apis.map((a) => a.server.child.pid);
      const cpu = async () => (await Promise.all(pids.map(processCpuS))).reduce((a, b) => a + b, 0);
      const [m0, api0, own0] = [await machineSample(), await cpu(), process.cpuUsage()];
      const t0 = performance.now();
      const results = await loadAll(apis, DURATION_S);
      const wallS = (performance.now() - t0) / 1000;
      const [m1, api1, own1] = [await machineSample(), await cpu(), process.cpuUsage(own0)];
      const ok = results.reduce((a, r) => a + r["2xx"], 0);
      return {
        requestsPerS: ok / wallS,
        createsPerS: ok / 4 / wallS,
        perApiCpuS: ok / Math.max(api1 - api0, 0.01),
        loadgenCores: (own1.user + own1.system) / 1e6 / wallS,
        machineCores: coresBusy(m0, m1),
        p99Ms: Math.max(...results.map((r) => r.latency.p99)),
      };
    } finally {
      await stopApis(apis);
    }
  });
}

export async function runApiProcessesBench(opts: { reelay?: ReelayCommand } = {}): Promise<SummaryRow[]> {
  const cmd = opts.reelay ?? (await buildReelay());
  const server = await benchPostgres();
  // Whether this machine lets the benchmark give each API process its quota.
  const probe = await limitCpu(process.pid, 2);
  await probe?.remove();
  const limited = probe !== null;
  try {
    const loadBefore = loadAverage();
    const runs: Record<1 | 2, CaseResult[]> = { 1: [], 2: [] };
    for (let i = 0; i < ROUNDS; i++) {
      const order: (1 | 2)[] = i % 2 === 0 ? [1, 2] : [2, 1];
      for (const n of order) runs[n].push(await runCase(cmd, server.url, n));
      const [a, b] = [runs[1].at(-1), runs[2].at(-1)] as [CaseResult, CaseResult];
      console.log(
        `  round ${i + 1}: 1 API ${int(a.requestsPerS)} req/s (${int(a.perApiCpuS)} per API CPU-s), ` +
          `2 APIs ${int(b.requestsPerS)} req/s (${int(b.perApiCpuS)} per API CPU-s); ` +
          `load generator ${a.loadgenCores.toFixed(2)} / ${b.loadgenCores.toFixed(2)} cores, ` +
          `machine ${a.machineCores.toFixed(2)} / ${b.machineCores.toFixed(2)} of 2 busy`,
      );
    }
    const med = (n: 1 | 2, f: (r: CaseResult) => number) => median(runs[n].map(f));
    const slice = limited ? `${API_CORES} core each` : "unlimited: the 2 cores bind";
    const row: SummaryRow = {
      name: `PostgreSQL API processes, create + 3 queries, 2 ÷ 1 (${slice})`,
      figure: `${int(med(2, (r) => r.requestsPerS))} req/s with 2 APIs (${int(med(2, (r) => r.createsPerS))} creates/s)`,
      baseline: `${int(med(1, (r) => r.requestsPerS))} req/s with 1 API`,
      ratio: med(2, (r) => r.requestsPerS) / med(1, (r) => r.requestsPerS),
      goal: GOAL,
    };
    const perCpu: SummaryRow = {
      name: "PostgreSQL API processes, requests per API CPU-second, 2 ÷ 1",
      figure: `${int(med(2, (r) => r.perApiCpuS))} req per CPU-s with 2 APIs`,
      baseline: `${int(med(1, (r) => r.perApiCpuS))} with 1 API`,
      ratio: med(2, (r) => r.perApiCpuS) / med(1, (r) => r.perApiCpuS),
      goal: null,
    };
    const summary = (n: 1 | 2) => ({
      requests_per_s: Math.round(med(n, (r) => r.requestsPerS)),
      creates_per_s: Math.round(med(n, (r) => r.createsPerS)),
      requests_per_api_cpu_s: Math.round(med(n, (r) => r.perApiCpuS)),
      loadgen_cores: ratio3(med(n, (r) => r.loadgenCores)),
      machine_cores_busy: ratio3(med(n, (r) => r.machineCores)),
      p99_ms: med(n, (r) => r.p99Ms),
    });
    const path = await writeResult("api-processes", {
      load_average: { before: loadBefore, after: loadAverage() },
      goal: GOAL,
      reelay: cmd.description,
      postgres: server.description,
      cpu_quota_per_api: limited ? API_CORES : null,
      connections_per_api: CONNECTIONS,
      mix: "POST /v1/video/create, then GET /v1/video/query ×3, per connection, repeated",
      duration_s: DURATION_S,
      one_api: summary(1),
      two_apis: summary(2),
      ratio: ratio3(row.ratio),
      ratio_per_api_cpu_s: ratio3(perCpu.ratio),
      rounds: { one_api: runs[1], two_apis: runs[2] },
    });
    for (const r of [row, perCpu])
      console.log(`  ${r.name}: ${r.figure} ÷ ${r.baseline} = ${r.ratio.toFixed(3)}`);
    console.log(`  results written to ${path}`);
    return [row, perCpu];
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runApiProcessesBench().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
