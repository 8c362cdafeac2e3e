/**
 * `npm run bench`: every benchmark in turn (render, store, http, tasks, tasks-pg, rss, big-bodies, workers, api-processes, pg-limits, inflight, streams, dashboard), each writing its own
 * bench/results/<name>.json, then one summary table (also bench/results/summary.json). A benchmark
 * that throws is reported and the rest still run; the exit code is then non-zero. A missed goal is
 * shown in the table but does not fail the run: the figures are ratios to read, not timed tests.
 */

import { buildReelay, type ReelayCommand } from "./lib/processes.js";
import { goalMet, goalText, machine, markdownTable, type SummaryRow, writeResult } from "./lib/report.js";

type Bench = readonly [name: string, run: () => Promise<SummaryRow[]>];

async function main(): Promise<number> {
  // Built once, on first need, for every benchmark that runs Reelay as a process.
  let built: Promise<ReelayCommand> | undefined;
  const reelay = () => {
    built ??= buildReelay();
    return built;
  };
  // Imported when run, so a module that does not load fails its benchmark, not the whole run.
  const benches: Bench[] = [
    [
      "render",
      async () => {
        const { runRenderBench } = await import("./render.js");
        const cases = await runRenderBench();
        return cases.map((c) => ({
          name: `local render ${c.name}`,
          figure: `${Math.round(c.medianGenerateMs)} ms generate`,
          baseline: `${Math.round(c.medianBareMs)} ms bare ffmpeg`,
          ratio: c.ratio,
          goal: { atMost: 1.1 },
        }));
      },
    ],
    ["store", async () => (await import("./store.js")).runStoreBench()],
    ["http", async () => (await import("./http.js")).runHttpBench({ reelay: await reelay() })],
    ["tasks", async () => (await import("./tasks.js")).runTasksBench()],
    ["tasks-pg", async () => (await import("./tasks-pg.js")).runTasksPgBench()],
    ["rss", async () => (await import("./rss.js")).runRssBench({ reelay: await reelay() })],
    [
      "big-bodies",
      async () => (await import("./big-bodies.js")).runBigBodiesBench({ reelay: await reelay() }),
    ],
    ["workers", async () => (await import("./workers.js")).runWorkersBench({ reelay: await reelay() })],
    [
      "api-processes",
      async () => (await import("./api-processes.js")).runApiProcessesBench({ reelay: await reelay() }),
    ],
    ["pg-limits", async () => (await import("./pg-limits.js")).runPgLimitsBench()],
    ["inflight", async () => (await import("./inflight.js")).runInflightBench({ reelay: await reelay() })],
    ["streams", async () => (await import("./streams.js")).runStreamsBench({ reelay: await reelay() })],
    ["dashboard", async () => (await import("./dashboard.js")).runDashboardBench()],
  ];

  const rows: SummaryRow[] = [];
  const failures: { bench: string; error: string }[] = [];
  const started = performance.now();
  for (const [name, run] of benches) {
    const t0 = performance.now();
    console.log(`\n== ${name}`);
    try {
      rows.push(...(await run()));
      console.log(`== ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      console.error(`== ${name} FAILED after ${((performance.now() - t0) / 1000).toFixed(1)} s:`, e);
      failures.push({ bench: name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  }

  console.log(`\nSummary (${machine().cpus} cores, ${process.version}; ratios from the same run):\n`);
  console.log(markdownTable(rows));
  if (failures.length > 0) console.log(`\nFailed: ${failures.map((f) => f.bench).join(", ")}`);
  const path = await writeResult("summary", {
    total_s: Number(((performance.now() - started) / 1000).toFixed(1)),
    rows: rows.map((r) => ({
      ...r,
      ratio: Number(r.ratio.toFixed(3)),
      goal: goalText(r.goal),
      met: goalMet(r.ratio, r.goal),
    })),
    failures,
  });
  console.log(`\nsummary written to ${path} (${((performance.now() - started) / 1000).toFixed(0)} s in all)`);
  return failures.length > 0 ? 1 : 0;
}

// Exits explicitly: a stray keep-alive socket or timer must not keep a finished run open.
main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
