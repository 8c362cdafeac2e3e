/**
 * Where the process's log lines go: standard output, a batch per event-loop turn. Under load a
 * turn answers many requests, and their access-log lines leave in one write(2) instead of one
 * each (a profile of `GET /v1/video/query` at the default level had ≈ 5 % of the process's time
 * in those writes); idle, a line is written in the same turn it was logged. Lines still pending
 * at exit are written synchronously, so an exit (process.exit, a crash) loses none.
 */
import { destination } from "pino";

export interface LogDestination {
  write(line: string): void;
  /** Writes what is pending now, synchronously. */
  flushSync(): void;
}

export function batchedStdout(): LogDestination {
  // pino's own asynchronous stdout writer (sonic-boom): it holds what arrives while a write is
  // under way, and pino flushes it synchronously at exit too.
  const out = destination({ dest: 1, sync: false });
  let pending: string[] = [];
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const chunk = pending.join("");
    pending = [];
    out.write(chunk);
  };
  const flushSync = (): void => {
    drain();
    try {
      out.flushSync();
    } catch {
      // Not open yet (nothing was written) or already closed: nothing to flush.
    }
  };
  process.on("exit", flushSync);
  return {
    write(line) {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    },
    flushSync,
  };
}
