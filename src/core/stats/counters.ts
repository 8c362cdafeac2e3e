/**
 * Polls and callbacks counted in memory as they happen, per minute and channel, and handed to the
 * store at each roll (every process adds its own counts: they sum across processes). Fed through
 * the Telemetry port, next to Prometheus, so the poller and the callback receiver stay unaware.
 */
import type { Clock, Telemetry } from "../ports.js";
import type { EventCount, EventKind } from "./ports.js";
import { bucketStart, GRAINS } from "./ranges.js";

export interface EventCounter {
  count(channel: string, kind: EventKind, at: number): void;
  /** The counts so far at every grain, and forgets them. */
  drain(): EventCount[];
  /** Gives back counts `drain` handed out that could not be stored (they are tried again). */
  restore(counts: readonly EventCount[]): void;
}

export function createEventCounter(): EventCounter {
  // minute bucket → channel → kind → count
  let minutes = new Map<string, number>();
  const keyOf = (bucket: number, channel: string, kind: EventKind) => JSON.stringify([bucket, channel, kind]);
  return {
    count(channel, kind, at) {
      const k = keyOf(bucketStart("minute", at), channel, kind);
      minutes.set(k, (minutes.get(k) ?? 0) + 1);
    },
    drain() {
      const taken = minutes;
      minutes = new Map();
      const out = new Map<string, EventCount>();
      for (const [k, n] of taken) {
        const [minute, channel, kind] = JSON.parse(k) as [number, string, EventKind];
        for (const grain of GRAINS) {
          const bucket = bucketStart(grain, minute);
          const key = JSON.stringify([grain, bucket, channel, kind]);
          const prev = out.get(key);
          out.set(key, { grain, bucket, channel, kind, count: (prev?.count ?? 0) + n });
        }
      }
      return [...out.values()];
    },
    restore(counts) {
      for (const c of counts) {
        if (c.grain !== "minute") continue;
        const k = keyOf(c.bucket, c.channel, c.kind);
        minutes.set(k, (minutes.get(k) ?? 0) + c.count);
      }
    },
  };
}

/** `base`, and each upstream poll and accepted callback counted into `counter`. */
export function countingTelemetry(base: Telemetry, counter: EventCounter, clock: Clock): Telemetry {
  return {
    ...base,
    upstreamPoll(e) {
      base.upstreamPoll?.(e);
      counter.count(e.channel, "poll", clock.now());
    },
    upstreamCallback(e) {
      base.upstreamCallback?.(e);
      counter.count(e.channel, "callback", clock.now());
    },
  };
}
