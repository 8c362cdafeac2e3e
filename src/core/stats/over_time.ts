/**
 * The "over time" figures of a range from its rollups: tasks by final status per bucket; per
 * channel and per model the success rate (completed over completed + failed: a cancel says nothing
 * about the channel), p50/p95 create→finished and the failure classes; polls and callbacks; credits
 * held, charged and refunded, and the provider's own cost, per bucket, per owner and per model.
 */
import { emptyHistogram, type Histogram, mergeHistogram, percentile } from "./histogram.js";
import type { EventCount, FinalStatus, Rollup } from "./ports.js";
import { GRAIN_MS, type Grain } from "./ranges.js";

export interface Breakdown {
  /** The channel or model (null: tasks that never reached a channel). */
  readonly name: string | null;
  readonly tasks: number;
  readonly completed: number;
  readonly failed: number;
  readonly cancelled: number;
  /** completed / (completed + failed); null when neither. */
  readonly successRate: number | null;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly failureClasses: Readonly<Record<string, number>>;
  /** Tasks per bucket. */
  readonly series: readonly number[];
}

export interface Money {
  readonly held: number;
  readonly charged: number;
  readonly refunded: number;
  readonly providerCostUsd: number;
}

export interface MoneyBreakdown extends Money {
  readonly name: string;
  /** Credits charged per bucket. */
  readonly chargedSeries: readonly number[];
  readonly refundedSeries: readonly number[];
}

export interface OverTime {
  readonly grain: Grain;
  readonly buckets: readonly number[];
  readonly byStatus: Readonly<Record<FinalStatus, readonly number[]>>;
  readonly totals: Readonly<Record<FinalStatus, number>>;
  /** p50/p95 of completed tasks, all channels. */
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly channels: readonly Breakdown[];
  readonly models: readonly Breakdown[];
  /** Failed tasks by class, per bucket. */
  readonly failureClasses: readonly {
    readonly name: string;
    readonly total: number;
    readonly series: readonly number[];
  }[];
  readonly events: {
    readonly polls: readonly number[];
    readonly callbacks: readonly number[];
    /** Per minute of each bucket. */
    readonly pollsPerMinute: readonly number[];
    readonly callbacksPerMinute: readonly number[];
  };
  readonly credits: {
    readonly series: {
      readonly held: readonly number[];
      readonly charged: readonly number[];
      readonly refunded: readonly number[];
      readonly providerCostUsd: readonly number[];
    };
    readonly totals: Money;
    readonly owners: readonly MoneyBreakdown[];
    readonly models: readonly MoneyBreakdown[];
  };
}

const round6 = (x: number) => Math.round(x * 1e6) / 1e6;

interface Acc {
  tasks: number;
  byStatus: Record<FinalStatus, number>;
  hist: Histogram;
  classes: Record<string, number>;
  series: number[];
}

function breakdowns(
  rows: readonly Rollup[],
  dim: (r: Rollup) => string | null,
  index: Map<number, number>,
  n: number,
): Breakdown[] {
  const accs = new Map<string | null, Acc>();
  for (const r of rows) {
    const name = dim(r);
    let a = accs.get(name);
    if (!a) {
      a = {
        tasks: 0,
        byStatus: { completed: 0, failed: 0, cancelled: 0 },
        hist: emptyHistogram(),
        classes: {},
        series: new Array(n).fill(0),
      };
      accs.set(name, a);
    }
    a.tasks += r.tasks;
    a.byStatus[r.status] += r.tasks;
    if (r.status === "completed") mergeHistogram(a.hist, r.latency);
    if (r.failureClass !== null) a.classes[r.failureClass] = (a.classes[r.failureClass] ?? 0) + r.tasks;
    const i = index.get(r.bucket);
    if (i !== undefined) a.series[i] = (a.series[i] ?? 0) + r.tasks;
  }
  return [...accs.entries()]
    .map(([name, a]) => {
      const decided = a.byStatus.completed + a.byStatus.failed;
      return {
        name,
        tasks: a.tasks,
        ...a.byStatus,
        successRate: decided === 0 ? null : Math.round((a.byStatus.completed / decided) * 10_000) / 10_000,
        p50Ms: percentile(a.hist, 0.5),
        p95Ms: percentile(a.hist, 0.95),
        failureClasses: a.classes,
        series: a.series,
      };
    })
    .sort((x, y) => y.tasks - x.tasks || String(x.name).localeCompare(String(y.name)));
}

function money(
  rows: readonly Rollup[],
  dim: (r: Rollup) => string,
  index: Map<number, number>,
  n: number,
): MoneyBreakdown[] {
  const accs = new Map<
    string,
    {
      held: number;
      charged: number;
      refunded: number;
      providerCostUsd: number;
      chargedSeries: number[];
      refundedSeries: number[];
    }
  >();
  for (const r of rows) {
    const name = dim(r);
    let a = accs.get(name);
    if (!a) {
      a = {
        held: 0,
        charged: 0,
        refunded: 0,
        providerCostUsd: 0,
        chargedSeries: new Array(n).fill(0),
        refundedSeries: new Array(n).fill(0),
      };
      accs.set(name, a);
    }
    a.held += r.held;
    a.charged += r.charged;
    a.refunded += r.refunded;
    a.providerCostUsd = round6(a.providerCostUsd + r.providerCostUsd);
    const i = index.get(r.bucket);
    if (i !== undefined) {
      a.chargedSeries[i] = (a.chargedSeries[i] ?? 0) + r.charged;
      a.refundedSeries[i] = (a.refundedSeries[i] ?? 0) + r.refunded;
    }
  }
  return [...accs.entries()]
    .map(([name, a]) => ({ name, ...a }))
    .sort((x, y) => y.charged - x.charged || y.held - x.held || x.name.localeCompare(y.name));
}

export function overTimeOf(
  grain: Grain,
  buckets: readonly number[],
  rows: readonly Rollup[],
  events: readonly EventCount[],
): OverTime {
  const n = buckets.length;
  const index = new Map(buckets.map((b, i) => [b, i]));
  const zeros = () => new Array<number>(n).fill(0);
  const byStatus = { completed: zeros(), failed: zeros(), cancelled: zeros() };
  const totals = { completed: 0, failed: 0, cancelled: 0 };
  const all = emptyHistogram();
  const classes = new Map<string, number[]>();
  const series = { held: zeros(), charged: zeros(), refunded: zeros(), providerCostUsd: zeros() };
  const inRange = rows.filter((r) => index.has(r.bucket));
  for (const r of inRange) {
    const i = index.get(r.bucket) ?? 0;
    byStatus[r.status][i] = (byStatus[r.status][i] ?? 0) + r.tasks;
    totals[r.status] += r.tasks;
    if (r.status === "completed") mergeHistogram(all, r.latency);
    if (r.failureClass !== null) {
      const s = classes.get(r.failureClass) ?? zeros();
      s[i] = (s[i] ?? 0) + r.tasks;
      classes.set(r.failureClass, s);
    }
    series.held[i] = (series.held[i] ?? 0) + r.held;
    series.charged[i] = (series.charged[i] ?? 0) + r.charged;
    series.refunded[i] = (series.refunded[i] ?? 0) + r.refunded;
    series.providerCostUsd[i] = round6((series.providerCostUsd[i] ?? 0) + r.providerCostUsd);
  }
  const polls = zeros();
  const callbacks = zeros();
  for (const e of events) {
    const i = index.get(e.bucket);
    if (i === undefined) continue;
    const s = e.kind === "poll" ? polls : callbacks;
    s[i] = (s[i] ?? 0) + e.count;
  }
  const minutes = GRAIN_MS[grain] / 60_000;
  const perMinute = (s: number[]) => s.map((x) => Math.round((x / minutes) * 100) / 100);
  const sum = (s: number[]) => s.reduce((a, b) => a + b, 0);
  return {
    grain,
    buckets,
    byStatus,
    totals,
    p50Ms: percentile(all, 0.5),
    p95Ms: percentile(all, 0.95),
    channels: breakdowns(inRange, (r) => r.channel, index, n),
    models: breakdowns(inRange, (r) => r.model, index, n),
    failureClasses: [...classes.entries()]
      .map(([name, s]) => ({ name, total: sum(s), series: s }))
      .sort((a, b) => b.total - a.total || a.name.localeCompare(b.name)),
    events: { polls, callbacks, pollsPerMinute: perMinute(polls), callbacksPerMinute: perMinute(callbacks) },
    credits: {
      series,
      totals: {
        held: sum(series.held),
        charged: sum(series.charged),
        refunded: sum(series.refunded),
        providerCostUsd: round6(sum(series.providerCostUsd)),
      },
      owners: money(inRange, (r) => r.ownerId, index, n),
      models: money(inRange, (r) => r.model, index, n),
    },
  };
}
