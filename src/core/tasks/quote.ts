/**
 * A quote: what a create would cost and where it would go, made without storing anything or
 * calling an upstream. The price comes from the one price function the hold at create uses
 * (catalogue/pricing.ts), so a quote equals the hold that follows it while the price table and
 * the request stay the same; the channel is the head of the route a create would take now (a
 * prediction: weights draw anew, and health and caps change by the time the task is sent).
 */
import type { Accounts } from "../accounts/ports.js";
import { type PriceBreakdown, type PriceTable, priceBreakdown } from "../catalogue/pricing.js";
import { errors, isReelayError } from "../errors.js";
import type { Clock } from "../ports.js";
import type { ChannelRouter } from "../upstream/channels.js";
import type { ChannelKind, UpstreamTaskStore } from "../upstream/ports.js";
import { planRoute } from "../upstream/route_plan.js";
import type { VideoRequest } from "./task.js";

export interface QuoteDeps {
  readonly accounts: Pick<Accounts, "get">;
  /** The price table; null while billing is off. */
  readonly prices: PriceTable | null;
  readonly router: ChannelRouter;
  readonly upstreamTasks: Pick<UpstreamTaskStore, "get">;
  readonly clock: Clock;
}

export interface Quote {
  readonly model: string;
  /** The channel a create would be sent to now; null when none would take it now. */
  readonly channel: { readonly id: string; readonly kind: ChannelKind } | null;
  /** That it is a prediction, or why no channel would take the task now. */
  readonly channelNote: string;
  readonly billing: boolean;
  /** Credits a create would hold (0 while billing is off), with how they were reckoned. */
  readonly credits: number;
  readonly breakdown: PriceBreakdown | null;
  /** The owner's balance; null while billing is off. */
  readonly balance: number | null;
  readonly covered: boolean;
  /** Credits missing to cover it (0 when covered). */
  readonly shortfall: number;
}

/** The quote for `request` by `ownerId` (validated as a create validates it). */
export async function quoteRequest(deps: QuoteDeps, ownerId: string, request: VideoRequest): Promise<Quote> {
  const channel = await predictedChannel(deps, request);
  const model = request.model;
  if (!deps.prices) {
    const note = "billing is off: creates are not charged";
    return {
      model,
      ...channel,
      billing: false,
      credits: 0,
      breakdown: null,
      balance: null,
      covered: true,
      shortfall: 0,
      channelNote: `${channel.channelNote}; ${note}`,
    };
  }
  const price = priceBreakdown(deps.prices, request);
  // The same refusal a create would answer.
  if (price === null) throw errors.noPrice(model);
  const { balance } = await deps.accounts.get(ownerId);
  const shortfall = Math.max(0, price.credits - balance);
  return {
    model,
    ...channel,
    billing: true,
    credits: price.credits,
    breakdown: price,
    balance,
    covered: shortfall === 0,
    shortfall,
  };
}

async function predictedChannel(
  deps: QuoteDeps,
  request: VideoRequest,
): Promise<Pick<Quote, "channel" | "channelNote">> {
  try {
    const { candidates } = await planRoute(deps, request);
    const first = candidates[0];
    if (!first) return { channel: null, channelNote: "no channel would take it now" };
    const others = candidates.length - 1;
    return {
      channel: { id: first.spec.id, kind: first.spec.kind },
      channelNote: `a prediction: the first of ${candidates.length} eligible channel${others ? "s" : ""} by priority, weight, cool-down and cap now${others ? "; the others follow if it refuses" : ""}`,
    };
  } catch (e) {
    // A create would still be accepted: its task then waits for a channel, or fails saying this.
    if (isReelayError(e)) return { channel: null, channelNote: e.message };
    throw e;
  }
}
