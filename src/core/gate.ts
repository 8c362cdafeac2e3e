/** A counting gate: at most `n` holders at once; the others wait in arrival order. */
export type Gate = (<T>(fn: () => Promise<T>) => Promise<T>) & {
  /** Holders now (at most `n`). */
  readonly running: number;
  /** Callers waiting for a holder to leave. */
  readonly waiting: number;
};

export function gate(n: number): Gate {
  let free = n;
  const waiting: (() => void)[] = [];
  const run = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (free > 0) free--;
    else await new Promise<void>((r) => waiting.push(r));
    try {
      return await fn();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else free++;
    }
  };
  return Object.defineProperties(run, {
    running: { get: () => n - free },
    waiting: { get: () => waiting.length },
  }) as Gate;
}
