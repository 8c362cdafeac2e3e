/**
 * Prices, in whole credits. A per-task price (most specific match of model, size, duration) wins;
 * else the model's per-second price × seconds. Billing is off until a price table is configured.
 */
import type { Accounts } from "../accounts/ports.js";
import type { Tx } from "../ports.js";
import { resolutionOf, type Task, type TaskResult, type VideoRequest } from "../tasks/task.js";
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
  const audio = model.accepts?.audio ?? "none";
  const sound = audio === "always" || (audio === "optional" && r.audio === true);
  const table = sound && model.price.withAudio ? model.price.withAudio : model.price.perSecond;
  return table[resolutionOf(r)] ?? table["*"] ?? null;
}

/** Billing: the ledger and the price table (absent while billing is off). */
export interface Billing {
  readonly accounts: Accounts;
  readonly prices: PriceTable;
}

/** Seconds a request pays for: the new segment for an extension, else the whole video. */
export const requestedSeconds = (r: VideoRequest): number => r.duration;

/** Seconds actually delivered, in the same terms, rounded to the nearest whole second. */
export function deliveredSeconds(r: VideoRequest, result: TaskResult): number {
  const made = r.source?.kind === "extend" ? result.durationS - r.source.durationS : result.durationS;
  return Math.max(0, Math.round(made));
}

/** Charged for what was asked, billed for what was delivered: the difference goes back (in `tx`). */
export async function settleDelivered(
  billing: Billing,
  task: Task,
  result: TaskResult,
  now: number,
  tx: Tx,
): Promise<void> {
  const asked = priceOf(billing.prices, task.request);
  const made = priceOf(billing.prices, task.request, deliveredSeconds(task.request, result));
  if (asked !== null && made !== null && made < asked)
    await billing.accounts.settle(task.id, asked - made, now, tx);
}

/** The price of `request` for `seconds` (default: what it asks for); null when the table has none. */
export function priceOf(table: PriceTable, r: VideoRequest, seconds = requestedSeconds(r)): number | null {
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
    return seconds >= r.duration ? fixed.credits : Math.ceil((fixed.credits * seconds) / r.duration);
  }
  const perSecond = table.perSecond[r.model];
  if (perSecond !== undefined) return perSecond * seconds;
  const listed = table.catalogue?.get(r.model);
  const rate = listed ? catalogueRate(listed, r) : null;
  // Rates may have fractions of a credit; a task costs whole credits, rounded up.
  return rate === null ? null : Math.ceil(rate * seconds - 1e-9);
}

/**
 * What a task is charged when it opens: a storyboard the sum of its shots' prices (null when one
 * has none); a storyboard's shot nothing, since its storyboard paid for it.
 */
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
