/**
 * The roller: every `intervalMs` each process stores its poll and callback counts and its
 * heartbeat, then rolls up the tasks that finished up to `settleMs` ago (processes sharing a
 * database take turns: see StatsStore.roll), and once an hour prunes what is past retention.
 * The settle lag leaves time for a task's final write, stamped a moment before it commits, to be
 * visible before its minute is rolled.
 */
import type { Clock, Logger } from "../ports.js";
import type { EventCounter } from "./counters.js";
import type { StatsStore } from "./ports.js";

export interface RollerSettings {
  readonly intervalMs: number;
  readonly settleMs: number;
  /** Tasks rolled per transaction (the roller loops until it has caught up). */
  readonly batch: number;
}

export interface StatsRoller {
  start(): void;
  stop(): Promise<void>;
  /** One round now (flush, heartbeat, roll until caught up); tasks rolled. */
  runOnce(): Promise<number>;
}

const PRUNE_EVERY_MS = 3_600_000;
/** Rounds of one roll before it yields to the next tick (a backlog of millions is rolled over several). */
const MAX_BATCHES_PER_ROUND = 200;

export function createStatsRoller(deps: {
  store: StatsStore;
  counter: EventCounter;
  clock: Clock;
  logger: Logger;
  settings: RollerSettings;
  /** This process, as the dashboard lists it. */
  process: { id: string; role: string; host: string };
  localChannel: string | null;
}): StatsRoller {
  const { store, counter, clock, logger, settings } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | null = null;
  let lastPrune = 0;

  const round = async (): Promise<number> => {
    const drained = counter.drain();
    try {
      if (drained.length > 0) await store.addEvents(drained);
    } catch (e) {
      counter.restore(drained);
      throw e;
    }
    const now = clock.now();
    await store.heartbeat({ ...deps.process, seenAt: now });
    let rolled = 0;
    for (let i = 0; i < MAX_BATCHES_PER_ROUND; i++) {
      const r = await store.roll({
        until: now - settings.settleMs,
        now,
        limit: settings.batch,
        localChannel: deps.localChannel,
      });
      rolled += r.rolled;
      if (r.caughtUp) break;
    }
    if (now - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = now;
      const pruned = await store.prune(now);
      if (pruned > 0) logger.info({ pruned }, "old dashboard buckets pruned");
    }
    return rolled;
  };
  // One round at a time per process: a tick that finds one running waits for it.
  const runOnce = (): Promise<number> => {
    const p = (running ?? Promise.resolve(0)).catch(() => 0).then(round);
    running = p;
    void p
      .finally(() => {
        if (running === p) running = null;
      })
      .catch(() => undefined);
    return p;
  };
  const tick = () =>
    void runOnce().catch((e) => logger.warn({ err: e }, "rolling up the dashboard's figures failed"));
  return {
    start() {
      if (timer) return;
      tick();
      timer = setInterval(tick, settings.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
    runOnce,
  };
}
