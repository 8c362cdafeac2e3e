/** The StatsStore contract (the dashboard's rollups), run on SQLite and on PostgreSQL. */
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import type { DB } from "../../src/adapters/sql/schema.js";
import { createSqlStatsStore } from "../../src/adapters/sql/stats-store.js";
import { binHigh, binLow, binOf, percentile } from "../../src/core/stats/histogram.js";
import type { StatsStore } from "../../src/core/stats/ports.js";
import { GRAIN_RETENTION_MS } from "../../src/core/stats/ranges.js";

export interface StatsOpen {
  readonly kysely: Kysely<DB>;
  /** Another connection to the same database, as a second process would have (SQLite: the same). */
  other(): Promise<Kysely<DB>>;
  close(): Promise<void>;
}

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const MIN = 60_000;

interface Seed {
  id: string;
  status: string;
  finishedAt: number;
  createdAt?: number;
  owner?: string;
  model?: string;
  cost?: object | null;
  error?: object | null;
  attempts?: number;
}

async function seed(db: Kysely<DB>, tasks: readonly Seed[]): Promise<void> {
  for (let i = 0; i < tasks.length; i += 200) {
    await db
      .insertInto("tasks")
      .values(
        tasks.slice(i, i + 200).map((t) => ({
          id: t.id,
          owner_id: t.owner ?? "owner_1",
          status: t.status,
          progress: 0,
          request: JSON.stringify({ model: t.model ?? "sora-2", prompt: "p" }),
          created_at: t.createdAt ?? t.finishedAt - 10_000,
          status_updated_at: t.finishedAt,
          deadline_at: t.finishedAt + 3_600_000,
          attempts: t.attempts ?? 1,
          error: t.error ? JSON.stringify(t.error) : null,
          failure_reason: null,
          enhanced_prompt: null,
          result: null,
          published: 0,
          cost: t.cost ? JSON.stringify(t.cost) : null,
        })),
      )
      .execute();
  }
}

const rollAll = async (s: StatsStore, until: number, limit = 1000) => {
  let total = 0;
  for (let i = 0; i < 10_000; i++) {
    const r = await s.roll({ until, now: until, limit, localChannel: "local" });
    total += r.rolled;
    if (r.caughtUp) return total;
  }
  throw new Error("roll did not catch up");
};

export function statsStoreContract(name: string, open: () => Promise<StatsOpen>) {
  describe(`StatsStore contract: ${name}`, () => {
    it("rolls each finished task once into minute, hour and day buckets, and the drill-down lists them", async () => {
      const o = await open();
      try {
        const s = createSqlStatsStore(o.kysely);
        await seed(o.kysely, [
          {
            id: "t1",
            status: "completed",
            finishedAt: T0 + 5_000,
            createdAt: T0 - 7_000,
            cost: { held: 10, charged: 8, refunded: 2, providerCostUsd: 0.5 },
          },
          { id: "t2", status: "completed", finishedAt: T0 + 65_000, createdAt: T0 + 5_000 },
          {
            id: "t3",
            status: "failed",
            finishedAt: T0 + 70_000,
            error: { code: "task_timeout", message: "late" },
            cost: { held: 10, charged: 0, refunded: 10 },
          },
          { id: "t4", status: "cancelled", finishedAt: T0 + 80_000, attempts: 0, owner: "owner_2" },
          { id: "t5", status: "processing", finishedAt: T0 + 1_000 },
          { id: "t6", status: "completed", finishedAt: T0 + 10 * MIN, model: "kling" },
        ]);
        expect(await s.watermark()).toBe(0);
        expect(await rollAll(s, T0 + 5 * MIN)).toBe(4);
        expect(await s.watermark()).toBe(T0 + 5 * MIN);
        // Rolling again counts nothing twice.
        expect(await rollAll(s, T0 + 5 * MIN)).toBe(0);
        const minutes = await s.rollups("minute", T0, T0 + 60 * MIN);
        const sum = (rs: typeof minutes, f: (r: (typeof minutes)[number]) => number) =>
          rs.reduce((a, r) => a + f(r), 0);
        expect(sum(minutes, (r) => r.tasks)).toBe(4);
        expect(minutes.filter((r) => r.bucket === T0).map((r) => [r.status, r.tasks, r.channel])).toEqual([
          ["completed", 1, "local"],
        ]);
        const failed = minutes.find((r) => r.status === "failed");
        expect(failed).toMatchObject({
          failureClass: "timeout",
          held: 10,
          refunded: 10,
          charged: 0,
          channel: "local",
        });
        expect(minutes.find((r) => r.status === "cancelled")).toMatchObject({
          channel: null,
          ownerId: "owner_2",
        });
        const hours = await s.rollups("hour", T0, T0 + 60 * MIN);
        expect(hours.filter((r) => r.status === "completed")).toHaveLength(1);
        const completed = hours.find((r) => r.status === "completed");
        expect(completed).toMatchObject({
          tasks: 2,
          latencySumMs: 12_000 + 60_000,
          charged: 8,
          providerCostUsd: 0.5,
        });
        const p50 = percentile(completed?.latency ?? new Map(), 0.5) ?? 0;
        expect(p50).toBeGreaterThanOrEqual(Math.floor(binLow(binOf(12_000))));
        expect(p50).toBeLessThanOrEqual(Math.ceil(binHigh(binOf(12_000))));
        expect(
          sum(await s.rollups("day", Date.UTC(2026, 11, 1), Date.UTC(2026, 11, 2)), (r) => r.tasks),
        ).toBe(4);

        // A task that finishes later is rolled by a later roll; one past `until` waits.
        expect(await rollAll(s, T0 + 11 * MIN)).toBe(1);
        expect(sum(await s.rollups("hour", T0, T0 + 60 * MIN), (r) => r.tasks)).toBe(5);

        const all = await s.finished({ from: T0, to: T0 + 60 * MIN, limit: 10 });
        expect(all.map((f) => f.taskId)).toEqual(["t6", "t4", "t3", "t2", "t1"]);
        expect(
          (
            await s.finished({
              from: T0,
              to: T0 + 60 * MIN,
              status: "failed",
              failureClass: "timeout",
              limit: 10,
            })
          ).map((f) => f.taskId),
        ).toEqual(["t3"]);
        expect(
          (await s.finished({ from: T0, to: T0 + 60 * MIN, channel: "none", limit: 10 })).map(
            (f) => f.taskId,
          ),
        ).toEqual(["t4"]);
        expect(
          (await s.finished({ from: T0, to: T0 + 60 * MIN, model: "kling", limit: 10 })).map((f) => f.taskId),
        ).toEqual(["t6"]);
        expect(
          (await s.finished({ from: T0, to: T0 + 60 * MIN, ownerId: "owner_2", limit: 10 })).map(
            (f) => f.taskId,
          ),
        ).toEqual(["t4"]);
        expect(
          (await s.finished({ from: T0 + MIN, to: T0 + 2 * MIN, limit: 10 })).map((f) => f.taskId),
        ).toEqual(["t4", "t3", "t2"]);
        const page = await s.finished({ from: T0, to: T0 + 60 * MIN, limit: 2 });
        const last = page[1];
        if (!last) throw new Error("no second row");
        const next = await s.finished({
          from: T0,
          to: T0 + 60 * MIN,
          limit: 10,
          cursor: { finishedAt: last.finishedAt, taskId: last.taskId },
        });
        expect(next.map((f) => f.taskId)).toEqual(["t3", "t2", "t1"]);
      } finally {
        await o.close();
      }
    });

    it("adds each process's counts of polls and callbacks, lists live processes, and prunes past retention", async () => {
      const o = await open();
      try {
        const s = createSqlStatsStore(o.kysely);
        await s.addEvents([{ grain: "minute", bucket: T0, channel: "a", kind: "poll", count: 3 }]);
        await s.addEvents([
          { grain: "minute", bucket: T0, channel: "a", kind: "poll", count: 4 },
          { grain: "minute", bucket: T0, channel: "a", kind: "callback", count: 1 },
        ]);
        const ev = await s.events("minute", T0, T0 + MIN);
        expect(ev.map((e) => [e.kind, e.count]).sort()).toEqual([
          ["callback", 1],
          ["poll", 7],
        ]);
        await s.heartbeat({ id: "p1", role: "worker", host: "h", seenAt: T0 });
        await s.heartbeat({ id: "p2", role: "serve", host: "h", seenAt: T0 - 5 * MIN });
        await s.heartbeat({ id: "p1", role: "worker", host: "h", seenAt: T0 + 1000 });
        expect((await s.processesSince(T0 - MIN)).map((p) => [p.id, p.seenAt])).toEqual([["p1", T0 + 1000]]);

        await seed(o.kysely, [{ id: "old", status: "completed", finishedAt: T0 }]);
        await rollAll(s, T0 + MIN);
        // Three days on: the minute buckets are gone, hours and days stay.
        const later = T0 + GRAIN_RETENTION_MS.minute + 24 * 3_600_000;
        expect(await s.prune(later)).toBeGreaterThan(0);
        expect(await s.rollups("minute", 0, later)).toEqual([]);
        expect(await s.events("minute", 0, later)).toEqual([]);
        expect((await s.rollups("hour", 0, later)).map((r) => r.tasks)).toEqual([1]);
        expect(await s.events("hour", 0, later)).toEqual([]);
        expect(await s.finished({ from: 0, to: later, limit: 10 })).toHaveLength(1);
      } finally {
        await o.close();
      }
    });

    it("counts every task exactly once when processes roll at the same time", async () => {
      const o = await open();
      const other = await o.other();
      try {
        const n = 1500;
        await seed(
          o.kysely,
          Array.from({ length: n }, (_, i) => ({
            id: `c${String(i).padStart(5, "0")}`,
            status: i % 3 === 0 ? "failed" : "completed",
            finishedAt: T0 + (i % 50) * 1000,
            owner: `owner_${i % 4}`,
          })),
        );
        const a = createSqlStatsStore(o.kysely);
        const b = createSqlStatsStore(other);
        const [x, y, z] = await Promise.all([
          rollAll(a, T0 + 60 * MIN, 40),
          rollAll(b, T0 + 60 * MIN, 40),
          rollAll(a, T0 + 60 * MIN, 70),
        ]);
        expect(x + y + z).toBe(n);
        const minutes = await a.rollups("minute", T0, T0 + MIN);
        expect(minutes.reduce((s, r) => s + r.tasks, 0)).toBe(n);
        expect(minutes.filter((r) => r.status === "failed").reduce((s, r) => s + r.tasks, 0)).toBe(500);
        expect((await a.rollups("day", 0, T0 + 86_400_000)).reduce((s, r) => s + r.tasks, 0)).toBe(n);
        expect(await a.finished({ from: T0, to: T0 + MIN, limit: 5000 })).toHaveLength(n);
      } finally {
        await o.close();
      }
    });
  });
}
