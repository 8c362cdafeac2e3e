/**
 * A short-lived in-process cache in front of the key store, so an authenticated request does not
 * need a database read to learn who is calling.
 *
 * What it may cost: a key revoked through another API process keeps working on this one for up
 * to `ttlMs` (a revocation through this process takes effect at once, as does an expiry, which is
 * checked against the clock on every request). Unknown keys are never cached: a key created
 * anywhere works at once, and guessing at keys cannot fill the cache. `ttlMs` 0 turns it off.
 */

import type { Clock } from "../ports.js";
import type { ApiKeyRecord, KeyStore } from "./ports.js";

export interface KeyCacheOptions {
  /** How long a looked-up key is trusted without asking the store again; 0: not at all. */
  readonly ttlMs: number;
  /** Keys held at most; the least recently used goes first. */
  readonly maxEntries?: number;
  /** Monotonic enough for a TTL; the injected clock, so tests can move it. */
  readonly clock: Clock;
}

export function cachingKeyStore(inner: KeyStore, opts: KeyCacheOptions): KeyStore {
  if (opts.ttlMs <= 0) return inner;
  const max = opts.maxEntries ?? 10_000;
  const entries = new Map<string, { key: ApiKeyRecord; until: number }>();
  const forgetId = (id: string) => {
    for (const [hash, e] of entries) if (e.key.id === id) entries.delete(hash);
  };
  return {
    insert: (key) => inner.insert(key),
    list: (o) => inner.list(o),
    async findByHash(hash) {
      const now = opts.clock.now();
      const hit = entries.get(hash);
      if (hit !== undefined) {
        entries.delete(hash);
        if (hit.until > now) {
          entries.set(hash, hit);
          return hit.key;
        }
      }
      const key = await inner.findByHash(hash);
      if (key !== undefined) {
        if (entries.size >= max) {
          const oldest = entries.keys().next();
          if (!oldest.done) entries.delete(oldest.value);
        }
        entries.set(hash, { key, until: now + opts.ttlMs });
      }
      return key;
    },
    async revoke(id, now) {
      forgetId(id);
      try {
        return await inner.revoke(id, now);
      } finally {
        // A lookup that raced the revocation may have put the old record back.
        forgetId(id);
      }
    },
  };
}
