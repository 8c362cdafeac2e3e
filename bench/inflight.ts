/**
 * How many upstream tasks one Reelay process holds in flight. An emulated unified relay (its own
 * process, tasks that never finish) and a built Reelay (`node dist/main/serve.js`) with that relay
 * as its only channel, polling each task every POLL_S (below). TASKS tasks are created through the API; once
 * all are accepted upstream, the emulator measures for WINDOW_MS the longest time any task went
 * without a poll, and Reelay's RSS is sampled.
 * Ratios: longest gap ÷ the goal of 1.2 poll intervals (≤ 1 meets it); peak RSS ÷ the 300 MB
 * goal (≤ 1 meets it); peak RSS ÷ the same Reelay's RSS idle before the load (reported, no goal);
 * the poller's database load in the window: statements and rows written per poll (counted in
 * Reelay by bench/lib/db-counter.cjs), rows written ÷ the one row a poll must write.
 * Run: `npx tsx bench/inflight.ts` (TASKS=… to change the count; default 50,000).
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { loadAverage, processCpuS } from "./lib/cpu.js";
import {
  ADMIN_TOKEN,
  buildReelay,
  CREATE_BODY,
  createKey,
  type ReelayCommand,
  rssKiB,
  spawnReelay,
  waitUntilOk,
} from "./lib/processes.js";
import { relayEnv, relayStats, startRelay, writeRelayConfig } from "./lib/relay.js";
import { int, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const TASKS = Number(process.env.TASKS ?? 50_000);
/**
 * The channel's poll interval. 5 s (the channel default) up to 10,000 tasks; beyond, scaled so
 * that the poll rate stays at 2,000 a second (25 s for 50,000), the rate one process sustained
 * here with room to spare: 50,000 tasks every 5 s would be 10,000 polls a second, each an HTTP
 * request and a row write, on a 2-core machine that also runs the emulated relay. POLL_S=… to set.
 */
const POLL_S = Number(process.env.POLL_S ?? Math.max(5, TASKS / 2000));
/** Issue 21: every task polled at most 1.2× its interval apart. */
const GOAL_GAP_MS = 1.2 * POLL_S * 1000;
const GOAL_RSS_MB = 300;
/** At least 30 s and three poll intervals. */
const WINDOW_MS = Math.max(30_000, 3 * POLL_S * 1000);
/** Bound on waiting for every task to be accepted upstream (≈ 10 ms a task, at least 5 minutes). */
const ACCEPT_BUDGET_MS = Math.max(300_000, TASKS * 10);

interface Stats {
  tasks: number;
  polls: number;
  neverPolled: number;
  maxGapMs: number;
  p99GapMs: number;
  p50GapMs: number;
}

interface DbCounts {
  statements: Record<string, number>;
  rowsWritten: number;
}

/** What bench/lib/db-counter.cjs last wrote (it writes every 500 ms: waits that long first). */
async function dbCounts(file: string): Promise<DbCounts> {
  await sleep(600);
  return JSON.parse(await readFile(file, "utf8")) as DbCounts;
}

export async function runInflightBench(opts: { reelay?: ReelayCommand } = {}): Promise<SummaryRow[]> {
  const built = opts.reelay ?? (await buildReelay());
  // BENCH_NODE_FLAGS adds node flags to Reelay's (a profile: `--cpu-prof --cpu-prof-dir=…`).
  const flags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const cmd = { ...built, args: [...flags, ...built.args] };
  const dir = await mkdtemp(join(tmpdir(), "reelay-bench-inflight-"));
  const { child: emulator, url: emuUrl } = await startRelay(["--never"]);
  let reelay: Awaited<ReturnType<typeof spawnReelay>> | undefined;
  try {
    const configFile = await writeRelayConfig(dir, emuUrl, { pollIntervalS: POLL_S, connections: 64 });
    const countsFile = join(dir, "db-counts.json");
    reelay = await spawnReelay(cmd, {
      // Counts its SQLite statements and rows written (bench/lib/db-counter.cjs) into countsFile.
      NODE_OPTIONS: `--require ${join(import.meta.dirname, "lib", "db-counter.cjs")}`,
      REELAY_BENCH_DB_COUNTS: countsFile,
      REELAY_CONFIG_FILE: configFile,
      ...relayEnv,
      REELAY_WORKER_CONCURRENCY: "32",
      REELAY_TASK_TIMEOUT_S: String(7 * 24 * 3600),
    });
    const server = reelay;
    await waitUntilOk(server.child, `${server.url}/healthz`, 30_000);
    await sleep(1000);
    const idleKiB = await rssKiB(server.child.pid);
    const key = await createKey(server.url);

    // CPU seconds of Reelay and of the emulated relay: robust on a shared machine, unlike rates.
    const cpu = async () => ({
      reelay: await processCpuS(server.child.pid),
      relay: await processCpuS(emulator.pid),
    });
    const cpu0 = await cpu();
    // Creates, 32 at a time.
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < TASKS) {
          next++;
          const res = await fetch(`${server.url}/v1/video/create`, {
            method: "POST",
            headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
            body: JSON.stringify(CREATE_BODY),
          });
          if (res.status !== 200) throw new Error(`create → ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
        }
      }),
    );
    const createdS = (performance.now() - t0) / 1000;
    const cpuCreated = await cpu();
    let peakKiB = 0;
    const stats = (reset = false) => relayStats<Stats>(emuUrl, reset);
    const until = Date.now() + ACCEPT_BUDGET_MS;
    // Past the budget, the window measures the tasks accepted by then (the rest are still being
    // submitted, part of the load): the first row says how many of TASKS that is.
    let accepted = (await stats()).tasks;
    while (accepted < TASKS && Date.now() < until) {
      peakKiB = Math.max(peakKiB, await rssKiB(server.child.pid));
      await sleep(500);
      accepted = (await stats()).tasks;
    }
    const acceptedS = (performance.now() - t0) / 1000;
    const cpuAccepted = await cpu();
    // One full poll interval for every task to be polled once, then the measured window.
    await sleep(POLL_S * 1000 + 2000);
    await stats(true);
    const w0 = Date.now();
    const before = await stats();
    const dbBefore = await dbCounts(countsFile);
    const cpuW0 = await cpu();
    let steadyKiB = 0;
    while (Date.now() - w0 < WINDOW_MS) {
      steadyKiB = Math.max(steadyKiB, await rssKiB(server.child.pid));
      await sleep(1000);
    }
    peakKiB = Math.max(peakKiB, steadyKiB);
    const cpuW1 = await cpu();
    // Where the memory is: V8's heap (used and reserved) from the process metrics.
    const metrics = await (
      await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    const gauge = (name: string) =>
      Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "m").exec(metrics)?.[1] ?? Number.NaN) / 1e6;
    const heap = {
      usedMb: gauge("reelay_nodejs_heap_size_used_bytes"),
      totalMb: gauge("reelay_nodejs_heap_size_total_bytes"),
    };
    const after = await stats();
    const dbAfter = await dbCounts(countsFile);
    const polls = after.polls - before.polls;
    const perPoll = (n: number) => Number((n / Math.max(1, polls)).toFixed(3));
    const statementsPerPoll = Object.fromEntries(
      Object.entries(dbAfter.statements)
        .map(([verb, n]) => [verb, perPoll(n - (dbBefore.statements[verb] ?? 0))] as const)
        .filter(([, n]) => n > 0),
    );
    const dbPerPoll = {
      statements: perPoll(
        Object.entries(dbAfter.statements).reduce(
          (sum, [v, n]) => sum + n - (dbBefore.statements[v] ?? 0),
          0,
        ),
      ),
      byKind: statementsPerPoll,
      rowsWritten: perPoll(dbAfter.rowsWritten - dbBefore.rowsWritten),
    };
    const channels = (await (
      await fetch(`${server.url}/admin/channels`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).json()) as { data: { in_flight: number }[] };
    const inFlight = channels.data[0]?.in_flight ?? 0;
    const pollsPerS = ((after.polls - before.polls) * 1000) / (Date.now() - w0);
    const peakMb = (peakKiB * 1024) / 1e6;
    const steadyMb = (steadyKiB * 1024) / 1e6;
    const result = {
      tasks: TASKS,
      inFlight,
      pollIntervalS: POLL_S,
      accepted,
      createS: Number(createdS.toFixed(1)),
      acceptedS: Number(acceptedS.toFixed(1)),
      windowS: WINDOW_MS / 1000,
      pollsPerS: Math.round(pollsPerS),
      gapMs: { max: after.maxGapMs, p99: after.p99GapMs, p50: after.p50GapMs },
      neverPolled: after.neverPolled,
      rssMb: {
        idle: Number(((idleKiB * 1024) / 1e6).toFixed(1)),
        steady: Number(steadyMb.toFixed(1)),
        peak: Number(peakMb.toFixed(1)),
      },
      heapAtEndMb: heap,
      // The poller's load on the database during the window, per poll the emulator answered.
      dbPerPoll,
      // Reelay's CPU seconds while the tasks were created and until all were accepted upstream
      // (polls of those accepted included); CPU ms per task placed (both phases) and per poll in
      // the window, Reelay's and the relay's; the machine's load average beside them.
      cpuS: {
        create: Number((cpuCreated.reelay - cpu0.reelay).toFixed(1)),
        accept: Number((cpuAccepted.reelay - cpuCreated.reelay).toFixed(1)),
      },
      cpuMs: {
        perTask: Number((((cpuAccepted.reelay - cpu0.reelay) * 1000) / TASKS).toFixed(3)),
        perPoll: Number((((cpuW1.reelay - cpuW0.reelay) * 1000) / Math.max(1, polls)).toFixed(3)),
        relayPerPoll: Number((((cpuW1.relay - cpuW0.relay) * 1000) / Math.max(1, polls)).toFixed(3)),
      },
      loadAverage: loadAverage(),
    };
    console.log(JSON.stringify(result, null, 2));
    await writeResult("inflight", result);
    return [
      {
        name: `upstream tasks accepted within ${Math.round(ACCEPT_BUDGET_MS / 1000)} s of the creates' end`,
        figure: `${int(accepted)} of ${int(TASKS)} (${result.acceptedS} s from the first create)`,
        baseline: `${int(TASKS)} created`,
        ratio: ratio3(accepted / TASKS),
        goal: { atLeast: 1 },
      },
      {
        name: `upstream tasks in flight on one process (${int(inFlight)}, polled every ${POLL_S} s)`,
        figure: `${(after.maxGapMs / 1000).toFixed(1)} s longest gap between polls (p99 ${(after.p99GapMs / 1000).toFixed(1)} s)`,
        baseline: `${GOAL_GAP_MS / 1000} s goal`,
        ratio: ratio3(after.maxGapMs / GOAL_GAP_MS),
        goal: { atMost: 1 },
      },
      {
        name: `RSS holding ${int(inFlight)} upstream tasks (steady polling)`,
        figure: `${steadyMb.toFixed(0)} MB`,
        baseline: `${GOAL_RSS_MB} MB goal`,
        ratio: ratio3(steadyMb / GOAL_RSS_MB),
        goal: { atMost: 1 },
      },
      {
        name: `RSS peak while ${int(inFlight)} tasks are created and submitted`,
        figure: `${peakMb.toFixed(0)} MB peak`,
        baseline: `${GOAL_RSS_MB} MB goal`,
        ratio: ratio3(peakMb / GOAL_RSS_MB),
        goal: { atMost: 1 },
      },
      {
        name: `RSS with ${int(inFlight)} in flight ÷ idle`,
        figure: `${peakMb.toFixed(0)} MB peak`,
        baseline: `${result.rssMb.idle} MB idle`,
        ratio: ratio3(peakMb / result.rssMb.idle),
        goal: null,
      },
      {
        name: `poller's database load with ${int(inFlight)} in flight (SQLite)`,
        figure: `${dbPerPoll.statements} statements, ${dbPerPoll.rowsWritten} rows written per poll`,
        baseline: "1 row a poll must write (its next poll time)",
        ratio: ratio3(dbPerPoll.rowsWritten),
        goal: null,
      },
    ];
  } finally {
    await reelay?.stop();
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await runInflightBench();
  console.table(rows);
}
