/**
 * The embedded store's cost of durability: one task + job transaction (what a create writes)
 * per commit, with synchronous=FULL (Reelay's setting) ÷ synchronous=NORMAL, same run, same disk.
 * Run: npx tsx bench/store.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { sql } from "kysely";
import { createSqlJobQueue } from "../src/adapters/queue/sqlite.js";
import { openSqlite } from "../src/adapters/sql/sqlite/db.js";
import { createSqlTaskStore } from "../src/adapters/sql/task-store.js";
import { newTaskId } from "../src/core/ids.js";
import { sampleTask } from "../test/contract/job-queue.contract.js";
import { int, ratio3, type SummaryRow, writeResult } from "./lib/report.js";

const N = 2000;

async function run(sync: "FULL" | "NORMAL"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "reelay-bench-store-"));
  try {
    const db = await openSqlite(dir);
    try {
      await sql.raw(`PRAGMA synchronous = ${sync}`).execute(db.kysely);
      const tasks = createSqlTaskStore(db.kysely);
      const queue = createSqlJobQueue(db.kysely, { now: () => Date.now() });
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const task = sampleTask(newTaskId("sora-2", Date.now()));
        await db.transaction(async (tx) => {
          await tasks.insert(task, tx);
          await queue.enqueue(
            { payload: { kind: "render", version: 1, taskId: task.id }, runAt: 0, maxAttempts: 3 },
            tx,
          );
        });
      }
      return N / ((performance.now() - t0) / 1000);
    } finally {
      await db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Best of two runs each; writes bench/results/store.json and returns the summary row. */
export async function runStoreBench(): Promise<SummaryRow[]> {
  const normal = [await run("NORMAL"), await run("NORMAL")];
  const full = [await run("FULL"), await run("FULL")];
  const best = (xs: number[]) => Math.max(...xs);
  const result = {
    benchmark: "store-create-transaction",
    transactions: N,
    normal_per_s: Math.round(best(normal)),
    full_per_s: Math.round(best(full)),
    full_over_normal: ratio3(best(full) / best(normal)),
  };
  console.log(JSON.stringify(result, null, 2));
  const path = await writeResult("store", result);
  console.log(`  results written to ${path}`);
  return [
    {
      name: "create transaction, synchronous=FULL ÷ NORMAL",
      figure: `${int(best(full))} creates/s FULL`,
      baseline: `${int(best(normal))} creates/s NORMAL`,
      ratio: best(full) / best(normal),
      goal: null,
    },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runStoreBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
