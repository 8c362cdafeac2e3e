/**
 * A task's feed as Server-Sent Events: every event after the client's Last-Event-ID (the header
 * an EventSource sends when it reconnects, or the `last_event_id` query parameter), then the live
 * ones as they are stored, until the task's final event. Each frame is `id:` (the event's seq),
 * `event:` (its type) and `data:` (the task as the route's API shows it, at that event). A quiet
 * stream gets a comment every heartbeat so that proxies keep it open; a key holds at most
 * `maxStreamsPerKey` streams at once on one process (429 `too_many_streams` beyond).
 */
import type { ServerResponse } from "node:http";
import type { FastifyReply, FastifyRequest } from "fastify";
import { errors } from "../core/errors.js";
import { type FeedEvent, isFinalEvent, taskAt } from "../core/tasks/feed.js";
import { isTerminal, type Task } from "../core/tasks/task.js";
import { principalOf } from "./auth.js";
import type { AppServices } from "./services.js";

/** Events read per query: a long feed is sent in pages. */
const PAGE = 200;
/** The largest Last-Event-ID taken: far past any feed, short of losing precision. */
const MAX_SEQ = 1_000_000_000;

/** Reads a Last-Event-ID: a whole number ≥ 0 (empty: from the start, as the SSE standard says). */
function seqOf(value: unknown, field: string): number {
  if (value === undefined || value === "") return 0;
  if (typeof value !== "string" || !/^\d{1,10}$/.test(value) || Number(value) > MAX_SEQ) {
    throw errors.invalidField(
      field,
      `'${field}' must be the id of an event this stream sent (a whole number from 0 to ${MAX_SEQ})`,
    );
  }
  return Number(value);
}

/** Where the client resumes: the Last-Event-ID header (what a reconnecting EventSource sends), else the query's. */
export function resumeAfter(req: FastifyRequest, query: unknown): number {
  const header = req.headers["last-event-id"];
  if (header !== undefined) return seqOf(header, "Last-Event-ID");
  return seqOf(query, "last_event_id");
}

const frame = (e: FeedEvent, data: unknown): string =>
  `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify(data)}\n\n`;

/**
 * The task's feed events after `after`, oldest first, then the live ones as they are stored, until
 * its final event; "beat" after each heartbeat with nothing new. Stops early when `signal` aborts
 * or the process shuts its streams. `task` is the task as it was read before: when it had already
 * ended and nothing follows `after`, nothing more will come and the feed ends at once.
 */
export async function* followFeed(
  events: AppServices["events"],
  task: Task,
  after: number,
  signal: AbortSignal,
): AsyncGenerator<FeedEvent | "beat"> {
  const { store, hub, heartbeatMs } = events;
  let dirty = true;
  let poke: (() => void) | undefined;
  const wake = () => {
    dirty = true;
    poke?.();
  };
  // Subscribed before the first read: a change stored in between wakes the loop, not lost.
  const unsubscribe = hub.subscribe(task.id, wake);
  signal.addEventListener("abort", wake);
  try {
    let cursor = after;
    while (!signal.aborted && !hub.closing) {
      if (dirty) {
        dirty = false;
        const batch = await store.after(task.id, cursor, PAGE);
        for (const e of batch) {
          cursor = e.seq;
          yield e;
          if (isFinalEvent(e.type) || signal.aborted) return;
        }
        if (batch.length === PAGE) dirty = true;
        // Resumed at or past the final event.
        if (batch.length === 0 && isTerminal(task.status)) return;
        if (dirty) continue;
      }
      const beat = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), heartbeatMs);
        poke = () => {
          clearTimeout(timer);
          resolve(false);
        };
        if (dirty || signal.aborted || hub.closing) poke();
      });
      poke = undefined;
      if (beat) yield "beat";
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", wake);
  }
}

/** Opens an SSE answer on a hijacked reply; the abort signal fires when the client goes away. */
export function openEventStream(req: FastifyRequest, reply: FastifyReply): AbortSignal {
  const gone = new AbortController();
  reply.hijack();
  reply.raw.on("close", () => gone.abort());
  // A stream may be quiet for minutes between heartbeats: the idle-connection timeout must not cut it.
  req.raw.socket.setTimeout(0);
  reply.raw.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  return gone.signal;
}

/**
 * Streams task `id` of the caller (404 for one the key cannot see) from after `after`; `view` is
 * the route's API's view of the task. Answers once the stream has ended.
 */
export async function streamTaskEvents(
  s: AppServices,
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { id: string; after: number; view: (task: Task) => unknown | Promise<unknown> },
): Promise<FastifyReply> {
  const { ownerId, keyId } = principalOf(req);
  const task = await s.engine.getOwned(ownerId, opts.id);
  const release = s.events.hub.admit(keyId, s.events.maxStreamsPerKey);
  if (!release) throw errors.tooManyStreams(s.events.maxStreamsPerKey);
  let hijacked = false;
  const res = reply.raw;
  try {
    // A task made before feeds existed gets its state now as its first event.
    await s.db.transaction((tx) => s.events.feed.backfill(task, tx));
    const gone = openEventStream(req, reply);
    hijacked = true;
    res.write(": reelay task events\n\n");
    for await (const e of followFeed(s.events, task, opts.after, gone)) {
      if (e === "beat") {
        res.write(": keep-alive\n\n");
        // A task deleted meanwhile takes its feed with it: its stream ends.
        const exists = await s.engine.getOwned(ownerId, task.id).then(
          () => true,
          () => false,
        );
        if (!exists) break;
      } else if (
        !res.write(frame(e, await opts.view(taskAt(task, e)))) &&
        !(await drained(res, s.events.heartbeatMs * 4))
      ) {
        // A client that stops reading would hold its place and buffers for ever: it is let go
        // (it resumes with its Last-Event-ID when it reads again).
        res.destroy();
        break;
      }
    }
    return reply;
  } catch (e) {
    if (!hijacked) throw e;
    // The headers are out: the client sees the stream end, and resumes with its Last-Event-ID.
    req.log.warn({ err: e }, "a task event stream stopped on an error");
    return reply;
  } finally {
    release();
    if (hijacked && !res.writableEnded) res.end();
  }
}

/** Waits until the client has taken what was written or has gone (true), or `ms` have passed (false). */
const drained = (res: ServerResponse, ms: number) =>
  new Promise<boolean>((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onDrain);
      resolve(ok);
    };
    const onDrain = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    res.once("drain", onDrain);
    res.once("close", onDrain);
  });
