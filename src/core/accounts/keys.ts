/** API keys: random secrets shown once; only their SHA-256 is stored (they carry 256 bits, so no salt or KDF is needed). */
import { createHash, timingSafeEqual } from "node:crypto";
import { newId, newSecret } from "../ids.js";
import type { ApiKeyRecord } from "./ports.js";

export const KEY_PREFIX = "rl-";

export const hashSecret = (secret: string): string => createHash("sha256").update(secret).digest("hex");

export function mintApiKey(opts: {
  name: string;
  ownerId?: string | undefined;
  now: number;
  expiresAt?: number | null;
  allowedModels?: readonly string[] | null;
  ratePerMin?: number | null;
  maxActive?: number | null;
}): {
  record: ApiKeyRecord;
  secret: string;
} {
  const secret = `${KEY_PREFIX}${newSecret()}`;
  const record: ApiKeyRecord = {
    id: newId("key", opts.now),
    ownerId: opts.ownerId ?? newId("owner", opts.now),
    name: opts.name,
    hash: hashSecret(secret),
    prefix: secret.slice(0, KEY_PREFIX.length + 6),
    createdAt: opts.now,
    expiresAt: opts.expiresAt ?? null,
    revokedAt: null,
    allowedModels: opts.allowedModels ?? null,
    ratePerMin: opts.ratePerMin ?? null,
    maxActive: opts.maxActive ?? null,
  };
  return { record, secret };
}

/** Why a stored key no longer works, or null when it does. */
export function keyUnusable(key: ApiKeyRecord, now: number): "revoked" | "expired" | null {
  if (key.revokedAt !== null) return "revoked";
  if (key.expiresAt !== null && key.expiresAt <= now) return "expired";
  return null;
}

/** Compares a presented secret with a stored hash in constant time. */
export function secretMatches(presented: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(presented), "hex");
  const b = Buffer.from(hash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
