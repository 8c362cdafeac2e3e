/**
 * The roller's write, SQLite and PostgreSQL alike: in one transaction, under a lock that makes
 * processes sharing the database take turns, read the tasks that finished since the watermark,
 * record each for the drill-down, merge them into the rollups and move the watermark past them.
 * The watermark is a position (finish time, task id) in the `tasks_status_time` index order.
 */
import type { Kysely, Transaction } from "kysely";
import { type FinishedTaskSource, finishedTaskOf } from "../../core/stats/facts.js";
import { decodeHistogram, encodeHistogram } from "../../core/stats/histogram.js";
import { FINAL_STATUSES, type FinalStatus, type FinishedTask, type Rollup } from "../../core/stats/ports.js";
import { GRAINS } from "../../core/stats/ranges.js";
import { addRollup, rollupKey, rollupsOf } from "../../core/stats/rollup.js";
import { dialectOf } from "./dialect.js";
import type { DB, StatsRollupsTable } from "./schema.js";

const WATERMARK = "rollup";
const ROLLED_UNTIL = "rolled_until";
/** Rows per INSERT: well under SQLite's bound-parameter limit. */
const CHUNK = 400;

const chunks = <T>(xs: readonly T[], n = CHUNK): T[][] =>
  Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

const none = (s: string | null): string => s ?? "";
const orNull = (s: string): string | null => (s === "" ? null : s);

export const rollupFromRow = (r: StatsRollupsTable): Rollup => ({
  grain: r.grain as Rollup["grain"],
  bucket: Number(r.bucket),
  channel: orNull(r.channel),
  model: r.model,
  ownerId: r.owner_id,
  status: r.status as FinalStatus,
  failureClass: orNull(r.failure_class),
  tasks: Number(r.tasks),
  latencySumMs: Number(r.latency_sum_ms),
  latency: decodeHistogram(r.latency_hist),
  held: Number(r.held),
  charged: Number(r.charged),
  refunded: Number(r.refunded),
  providerCostUsd: Number(r.provider_cost_usd),
});

const rowOf = (r: Rollup): StatsRollupsTable => ({
  grain: r.grain,
  bucket: r.bucket,
  channel: none(r.channel),
  model: r.model,
  owner_id: r.ownerId,
  status: r.status,
  failure_class: none(r.failureClass),
  tasks: r.tasks,
  latency_sum_ms: Math.round(r.latencySumMs),
  latency_hist: encodeHistogram(r.latency),
  held: r.held,
  charged: r.charged,
  refunded: r.refunded,
  provider_cost_usd: r.providerCostUsd,
});

const parse = <T>(text: string | null): T | null => {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
};

/** The finished tasks after the watermark, with what counting them needs. */
async function readFinished(
  trx: Transaction<DB>,
  mark: { at: number; taskId: string },
  until: number,
  limit: number,
  localChannel: string | null,
): Promise<{ facts: FinishedTask[]; scanned: number; last: { at: number; id: string } | null }> {
  const read = await trx
    .selectFrom("tasks")
    .select([
      "id",
      "owner_id",
      "status",
      "request",
      "created_at",
      "status_updated_at",
      "attempts",
      "error",
      "cost",
    ])
    // After the watermark's (time, id), in a form both databases answer from the index.
    .where("status_updated_at", ">=", mark.at)
    .where((eb) => eb.or([eb("status_updated_at", ">", mark.at), eb("id", ">", mark.taskId)]))
    .where("status_updated_at", "<", until)
    // Not filtered by status here: that would lead the planner to the status index and a sort of
    // every finished task on each roll. A task still running is passed over; when it ends, its
    // new status time is after `until`, so a later roll finds it.
    .orderBy("status_updated_at")
    .orderBy("id")
    .limit(limit)
    .execute();
  const end = read[read.length - 1];
  const last = end ? { at: Number(end.status_updated_at), id: end.id } : null;
  const final: ReadonlySet<string> = new Set(FINAL_STATUSES);
  const rows = read.filter((r) => final.has(r.status));
  if (rows.length === 0) return { facts: [], scanned: read.length, last };
  const ids = rows.map((r) => r.id);
  const [pins, attempts] = await Promise.all([
    trx.selectFrom("upstream_tasks").select(["task_id", "channel_id"]).where("task_id", "in", ids).execute(),
    trx
      .selectFrom("task_attempts")
      .select(["task_id", "number", "channel_id", "error_class"])
      .where("task_id", "in", ids)
      .execute(),
  ]);
  const pinOf = new Map(pins.map((p) => [p.task_id, p.channel_id]));
  const lastOf = new Map<string, { number: number; channel: string; errorClass: string | null }>();
  for (const a of attempts) {
    const prev = lastOf.get(a.task_id);
    if (!prev || Number(a.number) > prev.number)
      lastOf.set(a.task_id, { number: Number(a.number), channel: a.channel_id, errorClass: a.error_class });
  }
  const facts = rows.map((r) => {
    const source: FinishedTaskSource = {
      id: r.id,
      ownerId: r.owner_id,
      status: r.status as FinalStatus,
      model: parse<{ model?: string }>(r.request)?.model ?? "",
      createdAt: Number(r.created_at),
      finishedAt: Number(r.status_updated_at),
      attempts: Number(r.attempts),
      errorCode: parse<{ code?: string }>(r.error)?.code ?? null,
      cost: parse<FinishedTaskSource["cost"]>(r.cost),
      pinnedChannel: pinOf.get(r.id) ?? null,
      lastAttempt: lastOf.get(r.id) ?? null,
    };
    return finishedTaskOf(source, localChannel);
  });
  return { facts, scanned: read.length, last };
}

/** Adds `deltas` to the stored rollups (read, merged, written back: the roll lock is held). */
async function mergeRollups(trx: Transaction<DB>, deltas: Map<string, Rollup>): Promise<void> {
  for (const grain of GRAINS) {
    const mine = [...deltas.values()].filter((r) => r.grain === grain);
    if (mine.length === 0) continue;
    const buckets = [...new Set(mine.map((r) => r.bucket))];
    const stored = await trx
      .selectFrom("stats_rollups")
      .selectAll()
      .where("grain", "=", grain)
      .where("bucket", "in", buckets)
      .execute();
    const existing = new Map(
      stored.map((row) => {
        const r = rollupFromRow(row);
        return [rollupKey(r), r] as const;
      }),
    );
    const merged = mine.map((d) => {
      const e = existing.get(rollupKey(d));
      if (!e) return d;
      addRollup(e, d);
      return e;
    });
    for (const part of chunks(merged)) {
      await trx
        .insertInto("stats_rollups")
        .values(part.map(rowOf))
        .onConflict((oc) =>
          oc
            .columns(["grain", "bucket", "channel", "model", "owner_id", "status", "failure_class"])
            .doUpdateSet((eb) => ({
              tasks: eb.ref("excluded.tasks"),
              latency_sum_ms: eb.ref("excluded.latency_sum_ms"),
              latency_hist: eb.ref("excluded.latency_hist"),
              held: eb.ref("excluded.held"),
              charged: eb.ref("excluded.charged"),
              refunded: eb.ref("excluded.refunded"),
              provider_cost_usd: eb.ref("excluded.provider_cost_usd"),
            })),
        )
        .execute();
    }
  }
}

/** One roll (see StatsStore.roll). */
export async function rollOnce(
  db: Kysely<DB>,
  opts: { until: number; now: number; limit: number; localChannel: string | null },
): Promise<{ rolled: number; caughtUp: boolean }> {
  return db.transaction().execute(async (trx) => {
    await dialectOf(db).lockUntilCommit(trx, "reelay-stats-roll");
    const state = await trx
      .selectFrom("stats_state")
      .selectAll()
      .where("name", "=", WATERMARK)
      .executeTakeFirst();
    const mark = { at: Number(state?.at ?? 0), taskId: state?.task_id ?? "" };
    const { facts, scanned, last } = await readFinished(trx, mark, opts.until, opts.limit, opts.localChannel);
    const caughtUp = scanned < opts.limit;
    // Caught up: the figures are complete up to `until` (what the dashboard shows as "as of").
    if (caughtUp) {
      await trx
        .insertInto("stats_state")
        .values({ name: ROLLED_UNTIL, at: opts.until, task_id: "" })
        .onConflict((oc) => oc.column("name").doUpdateSet({ at: opts.until }))
        .execute();
    }
    if (!last) return { rolled: 0, caughtUp };
    for (const part of chunks(facts)) {
      await trx
        .insertInto("stats_finished")
        .values(
          part.map((f) => ({
            task_id: f.taskId,
            owner_id: f.ownerId,
            model: f.model,
            channel: none(f.channel),
            status: f.status,
            failure_class: none(f.failureClass),
            created_at: f.createdAt,
            finished_at: f.finishedAt,
            held: f.held,
            charged: f.charged,
            refunded: f.refunded,
            provider_cost_usd: f.providerCostUsd,
          })),
        )
        .onConflict((oc) => oc.column("task_id").doNothing())
        .execute();
    }
    if (facts.length > 0) await mergeRollups(trx, rollupsOf(facts, opts.now));
    await trx
      .insertInto("stats_state")
      .values({ name: WATERMARK, at: last.at, task_id: last.id })
      .onConflict((oc) => oc.column("name").doUpdateSet({ at: last.at, task_id: last.id }))
      .execute();
    return { rolled: facts.length, caughtUp };
  });
}

/** Epoch ms up to which every finished task is rolled up (0 before the first roll caught up). */
export const readRolledUntil = async (db: Kysely<DB>): Promise<number> =>
  Number(
    (await db.selectFrom("stats_state").select("at").where("name", "=", ROLLED_UNTIL).executeTakeFirst())
      ?.at ?? 0,
  );
