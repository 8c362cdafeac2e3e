/**
 * The money at create: a new task holds its quoted price (the same price function a quote reads),
 * settled against what is delivered (settlement.ts) or refunded when it fails. A storyboard holds
 * the sum of its shots' prices; its shots hold nothing of their own.
 */
import { errors } from "../errors.js";
import type { Tx } from "../ports.js";
import type { Task, VideoRequest } from "../tasks/task.js";
import { type Billing, holdPrice, priceOf } from "./pricing.js";

/** The model a hold found no price for: a storyboard names its shot's. */
const unpricedModel = (billing: Billing, r: VideoRequest): string =>
  r.storyboard?.shots.find((s) => priceOf(billing.prices, s.request) === null)?.request.model ?? r.model;

/** Holds `task`'s price in `tx` (402 when the balance is short); the task with its `cost`. */
export async function holdFor(
  billing: Billing,
  task: Task,
  payer: { keyId: string | null },
  tx: Tx,
): Promise<Task> {
  if (task.request.shotOf) return task;
  const price = holdPrice(billing.prices, task.request);
  if (price === null) throw errors.noPrice(unpricedModel(billing, task.request));
  const { credits, rule, seconds, resolution, audio, rate } = price;
  const held = await billing.accounts.hold(
    {
      ownerId: task.ownerId,
      keyId: payer.keyId,
      taskId: task.id,
      model: task.request.model,
      amount: credits,
      now: task.createdAt,
      detail: { rule, seconds, resolution, audio, rate },
    },
    tx,
  );
  if (!held.ok) throw errors.insufficientCredits(credits, held.balance);
  return { ...task, cost: { held: credits, charged: null, refunded: 0, rule, seconds } };
}
