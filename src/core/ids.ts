import { randomBytes, randomFillSync } from "node:crypto";
import { ulid } from "ulid";

/**
 * ulid's own randomness asks the CSPRNG for one byte per character (16 calls an id, and a PRNG
 * looked up anew on each id: 5 % of a task's CPU in a profile of bench/tasks.ts). The same bytes,
 * drawn from the same CSPRNG 4 KiB at a time, give the same distribution (byte / 256).
 */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;
const pooledRandom = (): number => {
  if (poolAt >= pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  return (pool[poolAt++] as number) / 256;
};

/** `sora-2:task_01k9009g8ef1esae6388chgcpx`: the model family, then a lowercase ULID (sortable by time). */
export const newTaskId = (family: string, now: number): string =>
  `${family}:task_${ulid(now, pooledRandom).toLowerCase()}`;

const TASK_ID = /^[a-z0-9][a-z0-9._-]{0,63}:task_[0-9a-hjkmnp-tv-z]{26}$/;
export const isTaskId = (id: string): boolean => TASK_ID.test(id);

export const newId = (prefix: string, now: number): string =>
  `${prefix}_${ulid(now, pooledRandom).toLowerCase()}`;

/** A secret with 256 bits of entropy, URL-safe. */
export const newSecret = (): string => randomBytes(32).toString("base64url");
