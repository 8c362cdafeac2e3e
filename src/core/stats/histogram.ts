/**
 * The latency histogram of the rollups: fixed, log-spaced bins, so that buckets of any size and
 * from any process merge by adding counts, and p50/p95 come from the merged counts. Bin 0 holds
 * everything under 100 ms; bin i ≥ 1 holds [100·√2^(i-1), 100·√2^i) ms; the last bin is open
 * above (about 20.6 h). A percentile is exact to within its bin (a factor of √2), interpolated in
 * log space inside it.
 */

export const HIST_BINS = 40;
const BASE_MS = 100;
const RATIO = Math.SQRT2;

/** Lower edge of bin `i` in ms (0 for bin 0). */
export const binLow = (i: number): number => (i <= 0 ? 0 : BASE_MS * RATIO ** (i - 1));
/** Upper edge of bin `i` in ms (Infinity for the last). */
export const binHigh = (i: number): number =>
  i >= HIST_BINS - 1 ? Number.POSITIVE_INFINITY : BASE_MS * RATIO ** i;

/** The bin a latency of `ms` falls in. */
export function binOf(ms: number): number {
  if (!(ms >= BASE_MS)) return 0;
  // Guard the float edge: the log of an exact edge may land a hair under it.
  let i = Math.floor(Math.log(ms / BASE_MS) / Math.log(RATIO)) + 1;
  if (ms < binLow(i)) i -= 1;
  else if (ms >= binHigh(i)) i += 1;
  return Math.min(HIST_BINS - 1, Math.max(1, i));
}

/** Counts per bin, sparse: bin index → count. */
export type Histogram = Map<number, number>;

export const emptyHistogram = (): Histogram => new Map();

export function addToHistogram(h: Histogram, ms: number, n = 1): void {
  const b = binOf(ms);
  h.set(b, (h.get(b) ?? 0) + n);
}

export function mergeHistogram(into: Histogram, from: Histogram): void {
  for (const [b, n] of from) into.set(b, (into.get(b) ?? 0) + n);
}

/** How a histogram is stored: `bin:count` pairs joined by commas, bins ascending ("3:2,7:1"). */
export function encodeHistogram(h: Histogram): string {
  return [...h.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([b, n]) => `${b}:${n}`)
    .join(",");
}

export function decodeHistogram(text: string): Histogram {
  const h: Histogram = new Map();
  if (text === "") return h;
  for (const pair of text.split(",")) {
    const [b, n] = pair.split(":").map(Number);
    if (b === undefined || n === undefined || !Number.isInteger(b) || !Number.isFinite(n)) continue;
    if (b < 0 || b >= HIST_BINS) continue;
    h.set(b, (h.get(b) ?? 0) + n);
  }
  return h;
}

/**
 * The `q` quantile (0 < q ≤ 1) of the latencies counted in `h`, in ms, rounded; null when empty.
 * The rank falls in one bin; the value is interpolated geometrically between that bin's edges
 * (linearly in bin 0, and the last bin, open above, answers its lower edge).
 */
export function percentile(h: Histogram, q: number): number | null {
  let total = 0;
  for (const n of h.values()) total += n;
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const b of [...h.keys()].sort((x, y) => x - y)) {
    const n = h.get(b) ?? 0;
    if (seen + n >= rank) {
      const within = (rank - seen - 0.5) / n;
      const lo = binLow(b);
      const hi = binHigh(b);
      if (!Number.isFinite(hi)) return Math.round(lo);
      if (lo === 0) return Math.round(hi * within);
      return Math.round(lo * (hi / lo) ** within);
    }
    seen += n;
  }
  return null;
}
