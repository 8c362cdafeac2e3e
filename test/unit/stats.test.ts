/** The dashboard's pure logic: histogram bins and percentiles, ranges, facts, rollups, over time. */
import { describe, expect, it } from "vitest";
import { createEventCounter } from "../../src/core/stats/counters.js";
import { finishedTaskOf } from "../../src/core/stats/facts.js";
import {
  addToHistogram,
  binHigh,
  binLow,
  binOf,
  decodeHistogram,
  emptyHistogram,
  encodeHistogram,
  HIST_BINS,
  percentile,
} from "../../src/core/stats/histogram.js";
import { overTimeOf } from "../../src/core/stats/over_time.js";
import type { FinishedTask } from "../../src/core/stats/ports.js";
import { bucketStart, bucketsOf } from "../../src/core/stats/ranges.js";
import { rollupsOf } from "../../src/core/stats/rollup.js";

describe("latency histogram", () => {
  it("puts each latency in the bin whose edges hold it, edges included below", () => {
    for (const ms of [0, 1, 99, 100, 141, 142, 1000, 12_345, 600_000, 10_000_000, 1e9]) {
      const b = binOf(ms);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThan(HIST_BINS);
      expect(ms).toBeGreaterThanOrEqual(binLow(b));
      expect(ms).toBeLessThan(binHigh(b));
    }
    for (let i = 1; i < HIST_BINS; i++) expect(binOf(binLow(i))).toBe(i);
  });

  it("answers percentiles within the bin of the exact value, and null when empty", () => {
    expect(percentile(emptyHistogram(), 0.5)).toBeNull();
    const values = Array.from({ length: 200 }, (_, i) => 500 + i * 97);
    const h = emptyHistogram();
    for (const v of values) addToHistogram(h, v);
    for (const q of [0.5, 0.95]) {
      const exact = values[Math.ceil(q * values.length) - 1] ?? 0;
      const got = percentile(h, q) ?? -1;
      expect(got).toBeGreaterThanOrEqual(Math.floor(binLow(binOf(exact))));
      expect(got).toBeLessThanOrEqual(Math.ceil(binHigh(binOf(exact))));
    }
  });

  it("stores compactly and reads back the same counts", () => {
    const h = emptyHistogram();
    for (const v of [50, 150, 150, 9000]) addToHistogram(h, v);
    const text = encodeHistogram(h);
    expect(text).toBe(`0:1,${binOf(150)}:2,${binOf(9000)}:1`);
    expect(decodeHistogram(text)).toEqual(h);
    expect(decodeHistogram("")).toEqual(new Map());
    expect(decodeHistogram("x:1,99:2,3:4")).toEqual(new Map([[3, 4]]));
  });
});

describe("ranges", () => {
  it("shows 60 minutes, 24 hours or 30 days, the last bucket holding now", () => {
    const now = Date.UTC(2026, 11, 3, 13, 30, 12);
    const hour = bucketsOf("hour", now);
    expect(hour.starts).toHaveLength(60);
    expect(hour.starts.at(-1)).toBe(Date.UTC(2026, 11, 3, 13, 30));
    expect(hour.to).toBe(Date.UTC(2026, 11, 3, 13, 31));
    expect(bucketsOf("day", now).starts).toHaveLength(24);
    const month = bucketsOf("30d", now);
    expect(month.starts).toHaveLength(30);
    expect(month.starts[0]).toBe(Date.UTC(2026, 10, 4));
    expect(bucketStart("day", now)).toBe(Date.UTC(2026, 11, 3));
  });
});

const source = {
  id: "t1",
  ownerId: "o1",
  status: "failed" as const,
  model: "sora-2",
  createdAt: 1000,
  finishedAt: 5000,
  attempts: 1,
  errorCode: "upstream_failed",
  cost: { held: 10, charged: 0, refunded: 10 },
  pinnedChannel: null,
  lastAttempt: null,
};

describe("finished tasks", () => {
  it("takes the class of the last attempt, else of the error code; the channel from the pin, attempt or local renderer", () => {
    expect(finishedTaskOf(source, "local")).toMatchObject({
      channel: "local",
      failureClass: "upstream_failed",
      held: 10,
      refunded: 10,
    });
    const upstream = finishedTaskOf(
      { ...source, pinnedChannel: "a", lastAttempt: { channel: "b", errorClass: "quota" } },
      "local",
    );
    expect(upstream).toMatchObject({ channel: "a", failureClass: "quota" });
    expect(finishedTaskOf({ ...source, errorCode: "task_timeout" }, "local").failureClass).toBe("timeout");
    const never = finishedTaskOf({ ...source, status: "cancelled", attempts: 0, cost: null }, "local");
    expect(never).toMatchObject({ channel: null, failureClass: null, held: 0, charged: 0 });
  });
});

const fact = (o: Partial<FinishedTask>): FinishedTask => ({
  taskId: "t",
  ownerId: "o1",
  model: "m1",
  channel: "a",
  status: "completed",
  failureClass: null,
  createdAt: 0,
  finishedAt: 60_000 * 5 + 10,
  held: 5,
  charged: 4,
  refunded: 1,
  providerCostUsd: 0.25,
  ...o,
});

describe("rollups and over time", () => {
  it("counts each task once per grain and sums its money and latency", () => {
    const rows = [...rollupsOf([fact({}), fact({ taskId: "u", createdAt: 1000 })], 0).values()];
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.tasks).toBe(2);
      expect(r.charged).toBe(8);
      expect(r.providerCostUsd).toBe(0.5);
      expect(r.latencySumMs).toBe(2 * 300_010 - 1000);
    }
  });

  it("writes no bucket already past its grain's retention (a backlog rolled late)", () => {
    const now = 3 * 86_400_000;
    const grains = [...rollupsOf([fact({ finishedAt: 1000 })], now).values()].map((r) => r.grain);
    expect(grains).toEqual(["hour", "day"]);
  });

  it("puts tasks in their bucket, rates channels on completed over decided, and lists classes", () => {
    const facts = [
      fact({}),
      fact({ taskId: "2", status: "failed", failureClass: "quota", charged: 0, refunded: 5 }),
      fact({ taskId: "3", status: "cancelled", channel: null, charged: 0 }),
      fact({ taskId: "4", finishedAt: 60_000 * 7, model: "m2", ownerId: "o2" }),
    ];
    const rows = [...rollupsOf(facts, 0).values()].filter((r) => r.grain === "minute");
    const buckets = Array.from({ length: 10 }, (_, i) => i * 60_000);
    const o = overTimeOf("minute", buckets, rows, [
      { grain: "minute", bucket: 5 * 60_000, channel: "a", kind: "poll", count: 12 },
      { grain: "minute", bucket: 60_000 * 99, channel: "a", kind: "poll", count: 5 },
    ]);
    expect(o.byStatus.completed).toEqual([0, 0, 0, 0, 0, 1, 0, 1, 0, 0]);
    expect(o.totals).toEqual({ completed: 2, failed: 1, cancelled: 1 });
    const a = o.channels.find((c) => c.name === "a");
    expect(a).toMatchObject({
      tasks: 3,
      completed: 2,
      failed: 1,
      successRate: 0.6667,
      failureClasses: { quota: 1 },
    });
    expect(o.channels.find((c) => c.name === null)?.successRate).toBeNull();
    expect(o.failureClasses).toEqual([{ name: "quota", total: 1, series: [0, 0, 0, 0, 0, 1, 0, 0, 0, 0] }]);
    expect(o.events.polls[5]).toBe(12);
    expect(o.events.polls.reduce((x, y) => x + y, 0)).toBe(12);
    expect(o.credits.totals).toEqual({ held: 20, charged: 8, refunded: 8, providerCostUsd: 1 });
    expect(o.credits.owners.map((m) => [m.name, m.charged])).toEqual([
      ["o1", 4],
      ["o2", 4],
    ]);
  });
});

describe("event counter", () => {
  it("hands out counts at every grain once, and takes back what could not be stored", () => {
    const c = createEventCounter();
    c.count("a", "poll", 61_000);
    c.count("a", "poll", 62_000);
    c.count("a", "callback", 125_000);
    const first = c.drain();
    expect(first.filter((e) => e.grain === "minute")).toEqual([
      { grain: "minute", bucket: 60_000, channel: "a", kind: "poll", count: 2 },
      { grain: "minute", bucket: 120_000, channel: "a", kind: "callback", count: 1 },
    ]);
    expect(first.filter((e) => e.grain === "hour" && e.kind === "poll")[0]?.count).toBe(2);
    expect(c.drain()).toEqual([]);
    c.restore(first);
    expect(c.drain()).toEqual(first);
  });
});
