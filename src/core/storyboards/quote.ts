/** A storyboard's price before it is made: the sum of its shots' prices, as its charge will be. */
import { chargeOf, type PriceTable, priceOf } from "../catalogue/pricing.js";
import type { VideoRequest } from "../tasks/task.js";

export interface StoryboardQuote {
  object: "storyboard.quote";
  price: number | null;
  shots: { index: number; model: string; duration: number; price: number | null }[];
  balance: number | null;
  covered: boolean | null;
}

/** The quote of `storyboard` under `prices` (null: billing is off) for an owner holding `balance`. */
export function quoteStoryboard(
  storyboard: VideoRequest,
  prices: PriceTable | null,
  balance: number | null,
): StoryboardQuote {
  const price = prices ? chargeOf(prices, storyboard) : null;
  return {
    object: "storyboard.quote",
    price,
    shots: (storyboard.storyboard?.shots ?? []).map((s, index) => ({
      index,
      model: s.request.model,
      duration: s.request.duration,
      price: prices ? priceOf(prices, s.request) : null,
    })),
    balance,
    covered: price === null || balance === null ? null : balance >= price,
  };
}
