/**
 * A Server-Sent Events client for tests: reads a stream over HTTP with a real SSE parser until the
 * server ends it, or until `stopAfter` events (then it hangs up, as a client that goes away).
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";

export interface SseRead {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: EventSourceMessage[];
  /** The server ended the stream (rather than this client hanging up). */
  readonly ended: boolean;
  /** The body, when the answer was not a stream (an error envelope). */
  readonly body: string | null;
  /** Comment lines seen (heartbeats). */
  readonly comments: string[];
}

export async function readSse(
  url: string,
  opts: {
    key?: string;
    headers?: Record<string, string>;
    /** Hang up once this many events have come (only these are returned). */
    stopAfter?: number;
    /** Hang up once this holds of what came so far. */
    until?: (r: { events: EventSourceMessage[]; comments: string[] }) => boolean;
    timeoutMs?: number;
  } = {},
): Promise<SseRead> {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(opts.timeoutMs ?? 120_000)]);
  const headers: Record<string, string> = { accept: "text/event-stream", ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(url, { headers, signal });
  const contentType = res.headers.get("content-type");
  if (!contentType?.startsWith("text/event-stream")) {
    return { status: res.status, contentType, events: [], ended: true, body: await res.text(), comments: [] };
  }
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const parser = createParser({ onEvent: (e) => events.push(e), onComment: (c) => comments.push(c) });
  const decoder = new TextDecoder();
  const reader = res.body?.getReader();
  if (!reader) throw new Error("no body");
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { status: res.status, contentType, events, ended: true, body: null, comments };
      parser.feed(decoder.decode(value, { stream: true }));
      const enough = opts.stopAfter !== undefined && events.length >= opts.stopAfter;
      if (enough || opts.until?.({ events, comments })) {
        stop.abort();
        const kept = enough ? events.slice(0, opts.stopAfter) : events;
        return { status: res.status, contentType, events: kept, ended: false, body: null, comments };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The seqs of `events` (their `id:` lines) as numbers. */
export const seqsOf = (events: readonly EventSourceMessage[]): number[] => events.map((e) => Number(e.id));
