/**
 * The in-process key cache (src/core/accounts/key_cache.ts) in front of the real SQLite key store: what it
 * may serve from memory, and what it must not.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqlKeyStore } from "../../src/adapters/sql/key-store.js";
import { openSqlite, type SqliteDatabase } from "../../src/adapters/sql/sqlite/db.js";
import { cachingKeyStore } from "../../src/core/accounts/key_cache.js";
import { mintApiKey } from "../../src/core/accounts/keys.js";
import type { KeyStore } from "../../src/core/accounts/ports.js";

describe("key cache", () => {
  let dir: string;
  let db: SqliteDatabase;
  let store: KeyStore;
  let lookups: number;
  let now: number;
  const clock = { now: () => now };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "reelay-keycache-"));
    db = await openSqlite(dir);
    const real = createSqlKeyStore(db.kysely);
    lookups = 0;
    now = 1_000_000;
    // Counts the reads that reach the database.
    store = {
      ...real,
      findByHash: (h) => {
        lookups++;
        return real.findByHash(h);
      },
    };
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  const mint = async (name = "k") => {
    const { record } = mintApiKey({ name, now });
    await store.insert(record);
    return record;
  };

  it("serves a known key from memory until the TTL has passed, then reads the store again", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 5000, clock });
    const key = await mint();
    expect((await cached.findByHash(key.hash))?.id).toBe(key.id);
    expect((await cached.findByHash(key.hash))?.id).toBe(key.id);
    expect(lookups).toBe(1);
    now += 4999;
    await cached.findByHash(key.hash);
    expect(lookups).toBe(1);
    now += 2;
    await cached.findByHash(key.hash);
    expect(lookups).toBe(2);
  });

  it("a revocation through it takes effect at once, even for a key it holds", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 60_000, clock });
    const key = await mint();
    await cached.findByHash(key.hash);
    const revoked = await cached.revoke(key.id, now);
    expect(revoked?.revokedAt).toBe(now);
    expect((await cached.findByHash(key.hash))?.revokedAt).toBe(now);
  });

  it("a revocation elsewhere (another process) shows once the TTL has passed", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 5000, clock });
    const key = await mint();
    await cached.findByHash(key.hash);
    await store.revoke(key.id, now); // not through the cache
    expect((await cached.findByHash(key.hash))?.revokedAt).toBeNull();
    now += 5001;
    expect((await cached.findByHash(key.hash))?.revokedAt).toBe(now - 5001);
  });

  it("never caches an unknown key: a key created after a failed lookup works at once", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 60_000, clock });
    const { record } = mintApiKey({ name: "late", now });
    expect(await cached.findByHash(record.hash)).toBeUndefined();
    await cached.insert(record);
    expect((await cached.findByHash(record.hash))?.id).toBe(record.id);
  });

  it("holds at most maxEntries keys, dropping the least recently used", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 60_000, maxEntries: 2, clock });
    const [a, b, c] = [await mint("a"), await mint("b"), await mint("c")];
    await cached.findByHash(a.hash);
    await cached.findByHash(b.hash);
    await cached.findByHash(a.hash); // a is now the most recent
    await cached.findByHash(c.hash); // b goes
    expect(lookups).toBe(3);
    await cached.findByHash(a.hash);
    await cached.findByHash(c.hash);
    expect(lookups).toBe(3);
    await cached.findByHash(b.hash);
    expect(lookups).toBe(4);
  });

  it("with a TTL of 0 every lookup reads the store", async () => {
    const cached = cachingKeyStore(store, { ttlMs: 0, clock });
    const key = await mint();
    await cached.findByHash(key.hash);
    await cached.findByHash(key.hash);
    expect(lookups).toBe(2);
  });
});
