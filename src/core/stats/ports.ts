/**
 * The stats store: compact rollups of finished tasks (per minute, hour and day), counters of
 * upstream polls and provider callbacks, one row per finished task for the drill-down, and the
 * processes seen lately. Fed by the roller (roller.ts), read by the dashboard's routes.
 */
import type { Histogram } from "./histogram.js";
import type { Grain } from "./ranges.js";

export const FINAL_STATUSES = ["completed", "failed", "cancelled"] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];

/** A finished task as the dashboard counts it (facts.ts derives it from the task and its attempts). */
export interface FinishedTask {
  readonly taskId: string;
  readonly ownerId: string;
  readonly model: string;
  /** The channel that ran it last; null when it never ran (cancelled or refused while queued). */
  readonly channel: string | null;
  readonly status: FinalStatus;
  /** The error class of a failed task (taxonomy.ts), or its error code where no class applies. */
  readonly failureClass: string | null;
  readonly createdAt: number;
  readonly finishedAt: number;
  /** Credits held at create, charged once settled, and given back (0 while billing is off). */
  readonly held: number;
  readonly charged: number;
  readonly refunded: number;
  /** What the provider says it cost, US$, where it reported usage the catalogue prices. */
  readonly providerCostUsd: number;
}

/** The finished tasks of one bucket and one combination of dimensions. */
export interface Rollup {
  readonly grain: Grain;
  readonly bucket: number;
  readonly channel: string | null;
  readonly model: string;
  readonly ownerId: string;
  readonly status: FinalStatus;
  readonly failureClass: string | null;
  tasks: number;
  /** Sum of create→finished times, ms. */
  latencySumMs: number;
  /** Create→finished times (histogram.ts). */
  readonly latency: Histogram;
  held: number;
  charged: number;
  refunded: number;
  providerCostUsd: number;
}

export const EVENT_KINDS = ["poll", "callback"] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

/** Polls of upstream tasks or provider callbacks heard, per channel and bucket. */
export interface EventCount {
  readonly grain: Grain;
  readonly bucket: number;
  readonly channel: string;
  readonly kind: EventKind;
  readonly count: number;
}

/** A Reelay process, as its last heartbeat told. */
export interface ProcessSeen {
  readonly id: string;
  readonly role: string;
  readonly host: string;
  readonly seenAt: number;
}

/** What the drill-down asks: finished tasks in [from, to) matching every given dimension. */
export interface FinishedFilter {
  readonly from: number;
  readonly to: number;
  readonly channel?: string | undefined;
  readonly model?: string | undefined;
  readonly status?: FinalStatus | undefined;
  readonly failureClass?: string | undefined;
  readonly ownerId?: string | undefined;
  /** Continue after this row (an opaque cursor from the previous page). */
  readonly cursor?: { readonly finishedAt: number; readonly taskId: string } | undefined;
  readonly limit: number;
}

export interface StatsStore {
  /**
   * Rolls up, in one transaction, the finished ones of the next `limit` tasks whose status
   * changed after the watermark and before `until`, then moves the watermark past them.
   * Processes sharing the database take turns (a lock held until commit), so each task is
   * counted once. Answers how many it rolled, and whether it reached `until`. Buckets past their
   * retention at `now` are not written.
   */
  roll(opts: { until: number; now: number; limit: number; localChannel: string | null }): Promise<{
    rolled: number;
    caughtUp: boolean;
  }>;
  /** Epoch ms up to which finished tasks are rolled up (0 before the first roll). */
  watermark(): Promise<number>;
  /** Adds counts of polls and callbacks (each process adds its own; they sum). */
  addEvents(counts: readonly EventCount[]): Promise<void>;
  /** Records that process `p` is alive at `p.seenAt`. */
  heartbeat(p: ProcessSeen): Promise<void>;
  /** Processes whose last heartbeat is at or after `since`. */
  processesSince(since: number): Promise<ProcessSeen[]>;
  /** Rollups of `grain` whose bucket starts in [from, to). */
  rollups(grain: Grain, from: number, to: number): Promise<Rollup[]>;
  /** Event counts of `grain` whose bucket starts in [from, to). */
  events(grain: Grain, from: number, to: number): Promise<EventCount[]>;
  /** One page of finished tasks, newest first (then by id, descending). */
  finished(filter: FinishedFilter): Promise<FinishedTask[]>;
  /** Deletes buckets and drill-down rows past their retention (ranges.ts); rows deleted. */
  prune(now: number): Promise<number>;
}
