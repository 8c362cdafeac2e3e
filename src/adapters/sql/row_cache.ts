/**
 * The embedded store's recently read rows, by key (bounded, least recently used out first), for
 * the reads on the busiest paths: polling a task (`GET /v1/video/query`, the OpenAI retrieve)
 * reads the task and its attempts, and every task that ends reads its owner's enabled webhook
 * endpoints; each only changes when this process writes it.
 * SQLite mode is one process (the data dir is locked) and every write goes through the store that
 * owns the cache, so a cache is only made where the dialect has one writer (never on PostgreSQL,
 * where other processes write).
 *
 * A write drops the entry once it has run and again when its transaction has ended, so a read in
 * between cannot leave the old row cached; a read that was under way while any write dropped an
 * entry does not store what it read (the version of the entries is taken before the read).
 */
import type { Tx } from "../../core/ports.js";
import { afterTransaction } from "./schema.js";

/** `value`, frozen all the way down, so a caller that tried to change a cached row would throw. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export class RowCache<T> {
  readonly #entries = new Map<string, T>();
  /** Changes whenever an entry is forgotten: taken before a read, checked before storing it. */
  #version = 0;
  constructor(private readonly max: number) {}

  #get(key: string): T | undefined {
    const v = this.#entries.get(key);
    if (v !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, v);
    }
    return v;
  }

  /**
   * The entry for `key`, else what `load` reads (stored, frozen, unless a write forgot an entry
   * while it read; `undefined`, a missing row, is never stored).
   */
  async read(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const hit = this.#get(key);
    if (hit !== undefined) return hit;
    const readAt = this.#version;
    const value = await load();
    if (value !== undefined) this.#set(key, value, readAt);
    return value;
  }

  /** Stores `value` (frozen) unless something was forgotten since `readAt` was taken. */
  #set(key: string, value: T, readAt: number): void {
    if (readAt !== this.#version) return;
    if (this.#entries.size >= this.max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, deepFreeze(value));
  }

  /** Forgets `key` now and once `tx` (when given) has ended. */
  forget(key: string, tx: Tx | undefined): void {
    this.#drop(key);
    afterTransaction(tx, () => this.#drop(key));
  }

  /** Forgets every entry now and once `tx` (when given) has ended. */
  clear(tx: Tx | undefined): void {
    this.#clear();
    afterTransaction(tx, () => this.#clear());
  }

  #clear(): void {
    this.#version++;
    this.#entries.clear();
  }

  #drop(key: string): void {
    this.#version++;
    this.#entries.delete(key);
  }
}
