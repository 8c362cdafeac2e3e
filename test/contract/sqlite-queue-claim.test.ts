/**
 * The embedded queue's claim walks two indexes (queued jobs due, runs whose lease ran out) and
 * merges them (src/adapters/queue/sqlite.ts): the earliest due first across both, never more than
 * the limit, each job once. The JobQueue contract covers the rest.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createSqlJobQueue } from "../../src/adapters/queue/sqlite.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";

it("claims the earliest due first across queued jobs and expired leases, within the limit", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-claim-"));
  const db = await openSqlite(dir);
  try {
    let now = 1_000_000;
    const queue = createSqlJobQueue(db.kysely, { now: () => now });
    const add = (taskId: string, runAt: number) =>
      queue.enqueue({ payload: { kind: "render", version: 1, taskId }, runAt, maxAttempts: 3 });
    await add("expires", now - 5000);
    const [held] = await queue.claim({ limit: 1, leaseMs: 1000, now });
    expect(held?.payload.taskId).toBe("expires");
    // Many queued jobs, added out of order, and one not yet due.
    for (let i = 40; i >= 1; i--) await add(`q${String(i).padStart(2, "0")}`, now - 4000 + i * 10);
    await add("later", now + 60_000);
    now += 2000; // the lease of "expires" has run out
    const taskIds = async (limit: number) =>
      (await queue.claim({ limit, leaseMs: 60_000, now })).map((j) => j.payload.taskId);
    expect(await taskIds(3)).toEqual(["expires", "q01", "q02"]);
    const rest = await taskIds(100);
    expect(rest).toHaveLength(38);
    expect(rest[0]).toBe("q03");
    expect(rest.at(-1)).toBe("q40");
    expect(await taskIds(100)).toEqual([]);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
