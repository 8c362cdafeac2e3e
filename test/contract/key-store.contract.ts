/**
 * The KeyStore contract, run on the SQL store of each database and on the caching store in front
 * of it (core/accounts/key_cache.ts), which every API process uses: the cache must not change what a
 * caller of the port sees.
 */
import { describe, expect, it } from "vitest";
import { cachingKeyStore } from "../../src/core/accounts/key_cache.js";
import type { KeyStore } from "../../src/core/accounts/ports.js";

export interface KeyStoreHarness {
  keys: KeyStore;
  close(): Promise<void>;
}

const T0 = 1_700_000_000_000;

/** `open`, with the store behind a caching store that trusts a looked-up key for a minute. */
export const withKeyCache =
  <H extends KeyStoreHarness>(open: () => Promise<H>) =>
  async (): Promise<H> => {
    const h = await open();
    return { ...h, keys: cachingKeyStore(h.keys, { ttlMs: 60_000, clock: { now: () => T0 } }) };
  };

const key = (id: string, ownerId: string, createdAt: number) => ({
  id,
  ownerId,
  name: `key ${id}`,
  hash: `hash-${id}`,
  prefix: "rl_abc",
  createdAt,
  expiresAt: null,
  revokedAt: null,
  allowedModels: null,
  ratePerMin: null,
  maxActive: null,
});

export function keyStoreContract(name: string, open: () => Promise<KeyStoreHarness>): void {
  describe(`KeyStore contract: ${name}`, () => {
    it("keys: stored by hash with their limits, listed newest first, revoked once", async () => {
      const { keys, close } = await open();
      try {
        const limited = {
          ...key("k1", "o1", T0),
          expiresAt: T0 + 86_400_000,
          allowedModels: ["sora-2"],
          ratePerMin: 60,
          maxActive: 2,
        };
        await keys.insert(limited);
        await keys.insert(key("k2", "o1", T0 + 1));
        await keys.insert(key("k3", "o2", T0 + 2));
        expect(await keys.findByHash("hash-k1")).toEqual(limited);
        expect(await keys.findByHash("nope")).toBeUndefined();
        expect((await keys.list({ ownerId: "o1" })).map((k) => k.id)).toEqual(["k2", "k1"]);
        expect((await keys.list({})).map((k) => k.id)).toEqual(["k3", "k2", "k1"]);
        expect((await keys.revoke("k1", T0 + 5))?.revokedAt).toBe(T0 + 5);
        // Revoking again keeps the first time.
        expect((await keys.revoke("k1", T0 + 9))?.revokedAt).toBe(T0 + 5);
        expect(await keys.revoke("none", T0)).toBeUndefined();
      } finally {
        await close();
      }
    });

    it("a key reads back as it is now: found once inserted, revoked once revoked, whatever was read before", async () => {
      const { keys, close } = await open();
      try {
        // Looked up before it exists, then made: found at once.
        expect(await keys.findByHash("hash-k1")).toBeUndefined();
        await keys.insert(key("k1", "o1", T0));
        expect(await keys.findByHash("hash-k1")).toEqual(key("k1", "o1", T0));
        expect(await keys.findByHash("hash-k1")).toEqual(key("k1", "o1", T0));
        // Revoked after being read: the next lookup sees the revocation.
        await keys.revoke("k1", T0 + 5);
        expect(await keys.findByHash("hash-k1")).toEqual({ ...key("k1", "o1", T0), revokedAt: T0 + 5 });
        expect((await keys.list({ ownerId: "o1" })).map((k) => k.revokedAt)).toEqual([T0 + 5]);
        // Other keys of the owner are untouched.
        await keys.insert(key("k2", "o1", T0 + 1));
        expect((await keys.findByHash("hash-k2"))?.revokedAt).toBeNull();
      } finally {
        await close();
      }
    });
  });
}
