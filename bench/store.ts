/**
 * The embedded store's cost of durability: one task + job transaction (what a create writes)
 * per commit, with synchronous=FULL (Reelay's setting) ÷ synchronous=NORMAL, same run, same disk.
 * Run: npx tsx bench/store.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../src/adapters/sqlite/db.js";
import { createSqlJobQueue } from "../src/adapters/sqlite/job-queue.js";
import { createSqlTaskStore } from "../src/adapters/sqlite/task-store.js";
import { newTaskId } from "../src/core/ids.js";
import { sampleTask } from "../test/contract/job-queue.contract.js";

const N = 2000;

async function run(sync: "FULL" | "NORMAL"): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "reelay-bench-store-"));
  try {
    const db = await openSqlite(dir);
    await import("kysely").then(({ sql }) => sql.raw(`PRAGMA synchronous = ${sync}`).execute(db.kysely));
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
    const perS = N / ((performance.now() - t0) / 1000);
    await db.close();
    return perS;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const normal = [await run("NORMAL"), await run("NORMAL")];
const full = [await run("FULL"), await run("FULL")];
const best = (xs: number[]) => Math.max(...xs);
const result = {
  benchmark: "store-create-transaction",
  transactions: N,
  normal_per_s: Math.round(best(normal)),
  full_per_s: Math.round(best(full)),
  full_over_normal: Number((best(full) / best(normal)).toFixed(3)),
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(import.meta.dirname, "results"), { recursive: true });
writeFileSync(join(import.meta.dirname, "results", "store.json"), `${JSON.stringify(result, null, 2)}\n`);
