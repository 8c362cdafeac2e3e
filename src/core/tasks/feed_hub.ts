/**
 * Wakes the open event streams of a task when its feed grows. A change made in this process wakes
 * them as soon as its transaction ends (`stored`). Changes made by other processes (scale-out:
 * workers change tasks, API processes stream them) are found by one shared tail per process: every
 * `tailMs` while any stream is open, one query asks the newest seq of every watched task, and the
 * streams of those that moved are woken. One query per tick for all streams, not one per stream;
 * chosen over PostgreSQL LISTEN/NOTIFY because it needs no dedicated connection per process, works
 * the same on both databases, and a missed notification cannot lose an event (the feed is the truth).
 */
import type { Logger } from "../ports.js";
import type { TaskFeedStore } from "./feed.js";

export interface FeedHub {
  /** Calls `wake` whenever the task's feed may have grown, until the returned function is called. */
  subscribe(taskId: string, wake: () => void): () => void;
  /** An event of `taskId` at `seq` was stored by this process and its transaction has ended. */
  stored(taskId: string, seq: number): void;
  /**
   * Takes one of the `max` stream places of `holder` (an API key) on this process; null when all
   * are taken. The returned function gives the place back (calling it again does nothing).
   */
  admit(holder: string, max: number): (() => void) | null;
  /** Open subscriptions (one per stream). */
  readonly size: number;
  /** Stops the tail and wakes every stream with `closing` set, so that each ends. */
  close(): void;
  readonly closing: boolean;
}

export function createFeedHub(deps: {
  store: Pick<TaskFeedStore, "latest">;
  /** How often other processes' changes are looked for; null where no other process writes (embedded). */
  tailMs: number | null;
  logger: Logger;
}): FeedHub {
  const { store, tailMs, logger } = deps;
  const watchers = new Map<string, Set<() => void>>();
  /** The newest seq this process has seen of each watched task. */
  const seen = new Map<string, number>();
  const places = new Map<string, number>();
  let size = 0;
  let closing = false;
  let timer: NodeJS.Timeout | undefined;

  const wakeAll = (taskId: string) => {
    for (const wake of watchers.get(taskId) ?? []) wake();
  };

  async function tail(): Promise<void> {
    timer = undefined;
    if (closing || watchers.size === 0) return;
    try {
      const latest = await store.latest([...watchers.keys()]);
      for (const [taskId, seq] of latest) {
        if ((seen.get(taskId) ?? 0) < seq) {
          seen.set(taskId, seq);
          wakeAll(taskId);
        }
      }
    } catch (e) {
      // The next tick tries again; streams meanwhile still get this process's own changes.
      logger.warn({ err: e }, "reading task feeds for open event streams failed");
    }
    schedule();
  }

  function schedule(): void {
    if (tailMs === null || timer !== undefined || closing || watchers.size === 0) return;
    timer = setTimeout(() => void tail(), tailMs);
    timer.unref();
  }

  return {
    subscribe(taskId, wake) {
      let set = watchers.get(taskId);
      if (!set) {
        set = new Set();
        watchers.set(taskId, set);
      }
      set.add(wake);
      size += 1;
      schedule();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        size -= 1;
        set.delete(wake);
        if (set.size === 0) {
          watchers.delete(taskId);
          seen.delete(taskId);
        }
      };
    },
    stored(taskId, seq) {
      if (!watchers.has(taskId)) return;
      if ((seen.get(taskId) ?? 0) < seq) seen.set(taskId, seq);
      wakeAll(taskId);
    },
    admit(holder, max) {
      const held = places.get(holder) ?? 0;
      if (held >= max) return null;
      places.set(holder, held + 1);
      let given = false;
      return () => {
        if (given) return;
        given = true;
        const left = (places.get(holder) ?? 1) - 1;
        if (left > 0) places.set(holder, left);
        else places.delete(holder);
      };
    },
    get size() {
      return size;
    },
    close() {
      closing = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const set of watchers.values()) for (const wake of set) wake();
    },
    get closing() {
      return closing;
    },
  };
}
