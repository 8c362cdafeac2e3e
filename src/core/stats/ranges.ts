/**
 * Time in the rollups: three grains of bucket (minute, hour, day, in UTC), how long each is kept,
 * and which grain draws each range the dashboard offers.
 */

export const GRAINS = ["minute", "hour", "day"] as const;
export type Grain = (typeof GRAINS)[number];

export const GRAIN_MS: Readonly<Record<Grain, number>> = {
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/** How long buckets of each grain are kept (README: *Operator's dashboard*, retention). */
export const GRAIN_RETENTION_MS: Readonly<Record<Grain, number>> = {
  minute: 48 * GRAIN_MS.hour,
  hour: 35 * GRAIN_MS.day,
  day: 400 * GRAIN_MS.day,
};

/**
 * How long a finished task's row for the drill-down is kept: as long as the longest range that
 * can point at it (30 days), with the hourly buckets' margin.
 */
export const FINISHED_RETENTION_MS = GRAIN_RETENTION_MS.hour;

export const RANGES = ["hour", "day", "30d"] as const;
export type Range = (typeof RANGES)[number];

export interface RangeSpec {
  readonly grain: Grain;
  /** How far back the range reaches from now. */
  readonly spanMs: number;
}

export const RANGE_SPECS: Readonly<Record<Range, RangeSpec>> = {
  hour: { grain: "minute", spanMs: GRAIN_MS.hour },
  day: { grain: "hour", spanMs: GRAIN_MS.day },
  "30d": { grain: "day", spanMs: 30 * GRAIN_MS.day },
};

/** Start (epoch ms) of the bucket of `grain` that holds `t`. */
export const bucketStart = (grain: Grain, t: number): number =>
  Math.floor(t / GRAIN_MS[grain]) * GRAIN_MS[grain];

/**
 * The buckets a range shows at `now`: from the bucket holding `now - span` (exclusive of it, so
 * the count is exactly span / grain) up to and including the bucket holding `now`.
 */
export function bucketsOf(
  range: Range,
  now: number,
): { grain: Grain; starts: number[]; from: number; to: number } {
  const { grain, spanMs } = RANGE_SPECS[range];
  const step = GRAIN_MS[grain];
  const last = bucketStart(grain, now);
  const n = Math.round(spanMs / step);
  const starts = Array.from({ length: n }, (_, i) => last - (n - 1 - i) * step);
  const from = starts[0] ?? last;
  return { grain, starts, from, to: last + step };
}
