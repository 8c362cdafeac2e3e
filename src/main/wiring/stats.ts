/** The operator's dashboard: its store, the counts of polls and callbacks, and the roller. */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { createSqlStatsStore } from "../../adapters/sql/stats-store.js";
import type { Telemetry } from "../../core/ports.js";
import { countingTelemetry, createEventCounter } from "../../core/stats/counters.js";
import type { StatsStore } from "../../core/stats/ports.js";
import { createStatsRoller, type StatsRoller } from "../../core/stats/roller.js";
import type { ChannelRouter } from "../../core/upstream/channels.js";
import type { Wiring } from "./context.js";

export interface Stats {
  readonly store: StatsStore;
  /** Prometheus's telemetry, with polls and callbacks also counted for the dashboard. */
  readonly telemetry: Telemetry;
  /** Needs the channels (the local renderer's id): built once they are. */
  roller(router: ChannelRouter): StatsRoller;
}

export function buildStats(w: Wiring, base: Telemetry): Stats {
  const { config, clock, logger, overrides, backends } = w;
  const store = createSqlStatsStore(backends.db.kysely);
  const counter = createEventCounter();
  const host = hostname();
  return {
    store,
    telemetry: countingTelemetry(base, counter, clock),
    roller: (router) =>
      createStatsRoller({
        store,
        counter,
        clock,
        logger,
        settings: { ...config.stats, batch: 2000 },
        // Several containers may share one process (tests): the suffix tells them apart.
        process: {
          id: `${host}-${process.pid}-${randomBytes(3).toString("hex")}`,
          role: overrides.role ?? (overrides.runsWorker === false ? "serve" : "all"),
          host,
        },
        localChannel: router.all().find((c) => c.upstream === null)?.spec.id ?? null,
      }),
  };
}
