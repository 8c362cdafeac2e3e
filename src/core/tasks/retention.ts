/**
 * The background prune of rows that would otherwise grow without bound: spent idempotency keys,
 * idle rate-limit buckets, upstream pins of deleted tasks, and finished webhook deliveries older
 * than the configured retention. Tasks and the credit ledger are kept (until a task is deleted;
 * the ledger for ever: it is the account's history).
 */

import type { Clock, Logger } from "../ports.js";
import { IDEMPOTENCY_WINDOW_MS } from "./engine.js";

export interface PruneCutoffs {
  readonly idempotencyBefore: number;
  readonly rateBucketsBefore: number;
  /** null: webhook deliveries are kept for ever. */
  readonly webhooksBefore: number | null;
}

export interface RecordPruner {
  /** Deletes what each cut-off (epoch ms) leaves behind; counts of deleted rows by kind. */
  prune(cut: PruneCutoffs): Promise<Record<string, number>>;
}

export interface RetentionSettings {
  /** Finished webhook deliveries are kept this long after their last attempt; 0: for ever. */
  readonly webhookRetentionMs: number;
  readonly intervalMs: number;
}

/** A bucket untouched this long has refilled whatever its rate: its row says nothing a new one would not. */
const RATE_BUCKET_IDLE_MS = 24 * 3600 * 1000;

export function createRetention(deps: {
  pruner: RecordPruner;
  clock: Clock;
  logger: Logger;
  settings: RetentionSettings;
}): { start(): void; stop(): void; runOnce(): Promise<Record<string, number>> } {
  const { pruner, clock, logger, settings } = deps;
  let timer: NodeJS.Timeout | undefined;
  const runOnce = async () => {
    const now = clock.now();
    const pruned = await pruner.prune({
      idempotencyBefore: now - IDEMPOTENCY_WINDOW_MS,
      rateBucketsBefore: now - RATE_BUCKET_IDLE_MS,
      webhooksBefore: settings.webhookRetentionMs > 0 ? now - settings.webhookRetentionMs : null,
    });
    if (Object.values(pruned).some((n) => n > 0)) logger.info({ pruned }, "old records pruned");
    return pruned;
  };
  const tick = () => void runOnce().catch((e) => logger.warn({ err: e }, "pruning old records failed"));
  return {
    start() {
      tick();
      timer = setInterval(tick, settings.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    runOnce,
  };
}
