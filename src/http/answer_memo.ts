/**
 * The JSON text of a task poll's answer, kept while the rows it was made from are unchanged: a
 * client polls a task many times between two changes of it, and making the view and its JSON was
 * the poll's largest cost after the framework's (hot_reads.ts). Only answers made from cached
 * rows are kept: the embedded store hands out its cached task and attempts frozen, and a write
 * replaces them with new objects, so an answer is found again only for the very objects it was
 * made from (WeakMap: it goes when they leave the cache). Rows read fresh (PostgreSQL, where other
 * processes write) are not frozen, and their answers are made every time.
 */

interface Kept {
  readonly attempts: object;
  /** The second the answer's links were signed in; 0 when it has none. */
  readonly second: number;
  readonly text: string;
}

export interface AnswerMemo {
  /** The kept answer made from `task` and `attempts` in `second`, or a new one (kept when it may be). */
  text(task: object, attempts: object, second: number, make: () => unknown): string;
}

/** One memo per kind of answer, owned by the app that serves it (hot_reads.ts). */
export function answerMemo(): AnswerMemo {
  const kept = new WeakMap<object, Kept>();
  return {
    text(task, attempts, second, make) {
      const k = kept.get(task);
      if (k !== undefined && k.attempts === attempts && k.second === second) return k.text;
      const text = JSON.stringify(make());
      if (Object.isFrozen(task) && Object.isFrozen(attempts)) kept.set(task, { attempts, second, text });
      return text;
    },
  };
}
