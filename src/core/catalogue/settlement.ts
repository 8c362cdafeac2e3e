/**
 * Settlement: what a delivered task is finally charged, from its hold, what it delivered and what
 * the provider says it used. The rule (README "Credits and billing"):
 *
 * - The seconds billed are the delivered video's (an extension: the new segment's), rounded to
 *   the nearest second; where the provider reports the seconds it billed and they are fewer, those
 *   (`basis: provider_seconds`). Reelay never bills a user for more than its provider billed it.
 * - The charge is the price of those seconds by the same rule that priced the hold (a per-task
 *   price pays its share of a shorter video), and never more than the hold: a longer video than
 *   asked costs what was quoted.
 * - Tokens a provider reports are kept for reference; where the catalogue gives the provider's US$
 *   price per million tokens, the task shows the provider's cost (`provider_cost_usd`).
 */
import type { Task, TaskCost, TaskResult, VideoRequest } from "../tasks/task.js";
import { type PriceTable, priceOf } from "./pricing.js";

export interface Settlement {
  /** Credits the task costs: at most `held`. */
  readonly charged: number;
  readonly billedSeconds: number;
  readonly basis: "delivered" | "provider_seconds";
  readonly providerCostUsd?: number;
}

/** Seconds delivered in the terms the request paid for, rounded to the nearest whole second. */
export function deliveredSeconds(r: VideoRequest, result: Pick<TaskResult, "durationS">): number {
  const made = r.source?.kind === "extend" ? result.durationS - r.source.durationS : result.durationS;
  return Math.max(0, Math.round(made));
}

/** The settlement of a task that held `held` credits and delivered `result`. */
export function settlementOf(
  table: PriceTable,
  r: VideoRequest,
  held: number,
  result: Pick<TaskResult, "durationS" | "usage">,
): Settlement {
  const delivered = deliveredSeconds(r, result);
  const reported = result.usage?.seconds;
  // A report of no seconds at all is taken as no report (an upstream that leaves the field at 0).
  const providerSeconds =
    reported !== undefined && Number.isFinite(reported) && reported > 0 ? Math.round(reported) : null;
  const fromProvider = providerSeconds !== null && providerSeconds < delivered;
  const billedSeconds = fromProvider ? providerSeconds : delivered;
  const made = priceOf(table, r, billedSeconds);
  // No price now (the table changed since the hold): the hold stands, as quoted.
  const charged = made === null ? held : Math.max(0, Math.min(held, made));
  const tokens = result.usage?.tokens;
  const perMillion = table.catalogue?.get(r.model)?.price?.usdPerMillionTokens;
  const providerCostUsd =
    tokens !== undefined && perMillion !== undefined
      ? Math.round(((tokens * perMillion) / 1_000_000) * 1e6) / 1e6
      : undefined;
  return {
    charged,
    billedSeconds,
    basis: fromProvider ? "provider_seconds" : "delivered",
    ...(providerCostUsd === undefined ? {} : { providerCostUsd }),
  };
}

/**
 * What completing `task` with `result` does to its money: the credits its hold releases, its cost
 * after (absent for a task held before costs were recorded) and the settlement's ledger detail;
 * null when nothing was held for it.
 */
export function settlementFor(
  table: PriceTable,
  task: Task,
  result: TaskResult,
): { release: number; cost: TaskCost | undefined; detail: Record<string, unknown> } | null {
  // A shot of a storyboard holds nothing: its storyboard pays, and settles as a whole.
  if (task.request.shotOf) return null;
  // A task held before its cost was recorded: held what its request is priced at.
  const held = task.cost?.held ?? priceOf(table, task.request);
  if (held === null) return null;
  // A storyboard's film is charged as held (the sum of its shots' prices, as quoted).
  if (task.request.storyboard) {
    const cost: TaskCost | undefined = task.cost
      ? { ...task.cost, charged: held, refunded: 0, billedSeconds: task.cost.seconds, basis: "delivered" }
      : undefined;
    return { release: 0, cost, detail: { charged: held, basis: "storyboard" } };
  }
  const s = settlementOf(table, task.request, held, result);
  const usd = s.providerCostUsd === undefined ? {} : { providerCostUsd: s.providerCostUsd };
  const cost: TaskCost | undefined = task.cost
    ? {
        ...task.cost,
        charged: s.charged,
        refunded: held - s.charged,
        billedSeconds: s.billedSeconds,
        basis: s.basis,
        ...usd,
      }
    : undefined;
  const detail = {
    charged: s.charged,
    billed_seconds: s.billedSeconds,
    basis: s.basis,
    ...(result.usage ? { provider_usage: result.usage } : {}),
    ...(s.providerCostUsd === undefined ? {} : { provider_cost_usd: s.providerCostUsd }),
  };
  return { release: held - s.charged, cost, detail };
}
