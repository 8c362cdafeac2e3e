/**
 * Prices, in whole credits. A per-task price (most specific match of model, size, duration) wins;
 * else the model's per-second price × seconds; else the catalogue's rate. Billing is off until a
 * price table is configured. What a delivered task is finally charged is settlement.ts's.
 */
import type { Accounts } from "../accounts/ports.js";
import { type PriceRule, resolutionOf, type VideoRequest } from "../tasks/task.js";

export type { PriceRule };

import type { ModelCapability } from "./capability.js";

export interface PriceTable {
  /** Credits for one task; `size` and `duration` narrow the match when given. */
  readonly perTask: readonly {
    model: string;
    size?: string | undefined;
    duration?: number | undefined;
    credits: number;
  }[];
  /** Credits per second of video, by model. */
  readonly perSecond: Readonly<Record<string, number>>;
  /**
   * The catalogue's prices (per second, by resolution and sound), for models the entries above
   * do not price.
   */
  readonly catalogue?: ReadonlyMap<string, Pick<ModelCapability, "price" | "accepts">>;
}

/**
 * A catalogue price for one second of `r`: the entry for its resolution (else `*`), from
 * `withAudio` when the video has sound (the model always makes it, or it was asked for).
 */
export function catalogueRate(
  model: Pick<ModelCapability, "price" | "accepts">,
  r: VideoRequest,
): number | null {
  if (!model.price) return null;
  const table = withSound(model, r) && model.price.withAudio ? model.price.withAudio : model.price.perSecond;
  return table[resolutionOf(r)] ?? table["*"] ?? null;
}

/** Billing: the ledger and the price table (absent while billing is off). */
export interface Billing {
  readonly accounts: Accounts;
  readonly prices: PriceTable;
}

/** Seconds a request pays for: the new segment for an extension, else the whole video. */
export const requestedSeconds = (r: VideoRequest): number => r.duration;

/** The price of `request` for `seconds` (default: what it asks for); null when the table has none. */
export function priceOf(table: PriceTable, r: VideoRequest, seconds = requestedSeconds(r)): number | null {
  return priceBreakdown(table, r, seconds)?.credits ?? null;
}

/** A price and how it was reached: what a quote shows, and what a hold records. */
export interface PriceBreakdown {
  /** Whole credits. */
  readonly credits: number;
  readonly rule: PriceRule;
  /** Seconds priced. */
  readonly seconds: number;
  readonly resolution: string;
  /** Whether the video has sound (the catalogue prices it apart). */
  readonly audio: boolean;
  /** Credits per second (`per_second`, `catalogue`); the whole video's price for `per_task`. */
  readonly rate: number;
}

/** Whether a video of `r` has sound: the model always makes it, or it was asked for. */
function withSound(model: Pick<ModelCapability, "accepts"> | undefined, r: VideoRequest): boolean {
  const audio = model?.accepts?.audio ?? "none";
  return audio === "always" || (audio === "optional" && r.audio === true);
}

/**
 * The price of `r` for `seconds` with its breakdown; null when the table has none. The one price
 * function: a quote, the hold at create and the settlement all read it, so a quote equals the hold.
 */
export function priceBreakdown(
  table: PriceTable,
  r: VideoRequest,
  seconds = requestedSeconds(r),
): PriceBreakdown | null {
  const listed = table.catalogue?.get(r.model);
  const base = { seconds, resolution: resolutionOf(r), audio: withSound(listed, r) };
  const candidates = table.perTask
    .filter(
      (p) =>
        p.model === r.model &&
        (p.size === undefined || p.size === r.size) &&
        (p.duration === undefined || p.duration === r.duration),
    )
    .sort(
      (a, b) =>
        Number(b.size !== undefined) +
        Number(b.duration !== undefined) -
        (Number(a.size !== undefined) + Number(a.duration !== undefined)),
    );
  const fixed = candidates[0];
  if (fixed) {
    // A per-task price is for what was asked: a shorter delivery pays its share of it.
    const credits = seconds >= r.duration ? fixed.credits : Math.ceil((fixed.credits * seconds) / r.duration);
    return { ...base, credits, rule: "per_task", rate: fixed.credits };
  }
  const perSecond = table.perSecond[r.model];
  if (perSecond !== undefined)
    return { ...base, credits: perSecond * seconds, rule: "per_second", rate: perSecond };
  const rate = listed ? catalogueRate(listed, r) : null;
  if (rate === null) return null;
  // Rates may have fractions of a credit; a task costs whole credits, rounded up.
  return { ...base, credits: Math.ceil(rate * seconds - 1e-9), rule: "catalogue", rate };
}

/**
 * What a task is charged when it opens: a storyboard the sum of its shots' prices (null when one
 * has none); a storyboard's shot nothing, since its storyboard paid for it.
 */
/**
 * What a create holds: the request's price with its breakdown; for a storyboard the sum of its
 * shots' prices (rule `storyboard`, settled as held: a film or a full refund). A shot's own price
 * is 0 (its storyboard paid).
 */
export function holdPrice(table: PriceTable, r: VideoRequest): PriceBreakdown | null {
  if (!r.storyboard && !r.shotOf) return priceBreakdown(table, r);
  const credits = chargeOf(table, r);
  if (credits === null) return null;
  return {
    credits,
    rule: "storyboard",
    seconds: r.duration,
    resolution: resolutionOf(r),
    audio: false,
    rate: 0,
  };
}

export function chargeOf(table: PriceTable, r: VideoRequest): number | null {
  if (r.shotOf) return 0;
  if (!r.storyboard) return priceOf(table, r);
  let sum = 0;
  for (const shot of r.storyboard.shots) {
    const price = priceOf(table, shot.request);
    if (price === null) return null;
    sum += price;
  }
  return sum;
}
