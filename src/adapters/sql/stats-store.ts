/** The stats store (core/stats/ports.ts) in the SQL database, SQLite and PostgreSQL alike. */
import type { Kysely } from "kysely";
import type { FinalStatus, FinishedTask, StatsStore } from "../../core/stats/ports.js";
import { FINISHED_RETENTION_MS, GRAIN_RETENTION_MS, GRAINS } from "../../core/stats/ranges.js";
import type { DB } from "./schema.js";
import { readRolledUntil, rollOnce, rollupFromRow } from "./stats-roll.js";

/** Heartbeats older than this say nothing about a process any more. */
const PROCESS_RETENTION_MS = 24 * 3_600_000;
const orNull = (s: string): string | null => (s === "" ? null : s);

export function createSqlStatsStore(db: Kysely<DB>): StatsStore {
  return {
    roll: (opts) => rollOnce(db, opts),
    watermark: () => readRolledUntil(db),
    async addEvents(counts) {
      for (let i = 0; i < counts.length; i += 400) {
        await db
          .insertInto("stats_events")
          .values(counts.slice(i, i + 400).map((c) => ({ ...c })))
          .onConflict((oc) =>
            oc
              .columns(["grain", "bucket", "channel", "kind"])
              .doUpdateSet((eb) => ({ count: eb("stats_events.count", "+", eb.ref("excluded.count")) })),
          )
          .execute();
      }
    },
    async heartbeat(p) {
      await db
        .insertInto("stats_processes")
        .values({ id: p.id, role: p.role, host: p.host, seen_at: p.seenAt })
        .onConflict((oc) => oc.column("id").doUpdateSet({ role: p.role, host: p.host, seen_at: p.seenAt }))
        .execute();
    },
    async processesSince(since) {
      const rows = await db
        .selectFrom("stats_processes")
        .selectAll()
        .where("seen_at", ">=", since)
        .orderBy("id")
        .execute();
      return rows.map((r) => ({ id: r.id, role: r.role, host: r.host, seenAt: Number(r.seen_at) }));
    },
    async rollups(grain, from, to) {
      const rows = await db
        .selectFrom("stats_rollups")
        .selectAll()
        .where("grain", "=", grain)
        .where("bucket", ">=", from)
        .where("bucket", "<", to)
        .execute();
      return rows.map(rollupFromRow);
    },
    async events(grain, from, to) {
      const rows = await db
        .selectFrom("stats_events")
        .selectAll()
        .where("grain", "=", grain)
        .where("bucket", ">=", from)
        .where("bucket", "<", to)
        .execute();
      return rows.map((r) => ({
        grain,
        bucket: Number(r.bucket),
        channel: r.channel,
        kind: r.kind as "poll" | "callback",
        count: Number(r.count),
      }));
    },
    async finished(f) {
      let q = db
        .selectFrom("stats_finished")
        .selectAll()
        .where("finished_at", ">=", f.from)
        .where("finished_at", "<", f.to);
      // "" is how a task that never reached a channel is stored: asked for as channel "none".
      if (f.channel !== undefined) q = q.where("channel", "=", f.channel === "none" ? "" : f.channel);
      if (f.model !== undefined) q = q.where("model", "=", f.model);
      if (f.status !== undefined) q = q.where("status", "=", f.status);
      if (f.failureClass !== undefined) q = q.where("failure_class", "=", f.failureClass);
      if (f.ownerId !== undefined) q = q.where("owner_id", "=", f.ownerId);
      const c = f.cursor;
      if (c)
        q = q
          .where("finished_at", "<=", c.finishedAt)
          .where((eb) => eb.or([eb("finished_at", "<", c.finishedAt), eb("task_id", "<", c.taskId)]));
      const rows = await q.orderBy("finished_at", "desc").orderBy("task_id", "desc").limit(f.limit).execute();
      return rows.map(
        (r): FinishedTask => ({
          taskId: r.task_id,
          ownerId: r.owner_id,
          model: r.model,
          channel: orNull(r.channel),
          status: r.status as FinalStatus,
          failureClass: orNull(r.failure_class),
          createdAt: Number(r.created_at),
          finishedAt: Number(r.finished_at),
          held: Number(r.held),
          charged: Number(r.charged),
          refunded: Number(r.refunded),
          providerCostUsd: Number(r.provider_cost_usd),
        }),
      );
    },
    async prune(now) {
      let n = 0;
      const count = (r: { numDeletedRows: bigint }[]) => r.reduce((s, x) => s + Number(x.numDeletedRows), 0);
      for (const grain of GRAINS) {
        for (const table of ["stats_rollups", "stats_events"] as const) {
          const before = now - GRAIN_RETENTION_MS[grain];
          n += count(
            await db.deleteFrom(table).where("grain", "=", grain).where("bucket", "<", before).execute(),
          );
        }
      }
      n += count(
        await db
          .deleteFrom("stats_finished")
          .where("finished_at", "<", now - FINISHED_RETENTION_MS)
          .execute(),
      );
      n += count(
        await db
          .deleteFrom("stats_processes")
          .where("seen_at", "<", now - PROCESS_RETENTION_MS)
          .execute(),
      );
      return n;
    },
  };
}
