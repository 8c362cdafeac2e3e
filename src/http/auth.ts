/** Bearer authentication: API keys for /v1, the admin token for /admin. */
import type { FastifyRequest } from "fastify";
import { hashSecret, keyUnusable, secretMatches } from "../core/accounts/keys.js";
import type { KeyStore, RateLimiter } from "../core/accounts/ports.js";
import { errors } from "../core/errors.js";
import type { Clock } from "../core/ports.js";

export interface Principal {
  readonly keyId: string;
  readonly ownerId: string;
  /** Models this key may use; null: all. */
  readonly allowedModels: readonly string[] | null;
  /** Pending + processing tasks allowed at once; 0: no limit. */
  readonly maxActive: number;
}

/** What requireKey needs: the key store, the clock, the limiter and the default limits. */
export interface AuthDeps {
  readonly keys: KeyStore;
  readonly clock: Clock;
  readonly rateLimiter: RateLimiter;
  readonly limits: { readonly ratePerMin: number; readonly burst: number; readonly maxActive: number };
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const bearer = (req: FastifyRequest): string | undefined => bearerOf(req.headers.authorization);

const bearerOf = (h: string | undefined): string | undefined => {
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1] ?? "";
};

/** Resolves the request's API key to its owner; 401 when it is missing, unknown, revoked or expired. */
export async function authenticateKey(req: FastifyRequest, deps: AuthDeps): Promise<Principal> {
  req.principal = await principalFor(req.headers.authorization, deps);
  return req.principal;
}

/** The owner of the API key an Authorization header carries (see authenticateKey). */
export async function principalFor(
  authorization: string | undefined,
  { keys, clock, rateLimiter, limits }: AuthDeps,
): Promise<Principal> {
  const secret = bearerOf(authorization);
  if (secret === undefined) throw errors.missingApiKey();
  if (secret === "") throw errors.invalidApiKey();
  const key = await keys.findByHash(hashSecret(secret));
  if (!key) throw errors.invalidApiKey();
  const why = keyUnusable(key, clock.now());
  if (why) throw errors.keyUnusable(why);
  const perMin = key.ratePerMin ?? limits.ratePerMin;
  if (perMin > 0) {
    const burst = key.ratePerMin === null ? limits.burst : Math.max(1, key.ratePerMin);
    const taken = await rateLimiter.take(`key:${key.id}`, { perMin, burst, now: clock.now() });
    if (!taken.ok) throw errors.rateLimited(perMin, taken.retryAfterS);
  }
  return {
    keyId: key.id,
    ownerId: key.ownerId,
    allowedModels: key.allowedModels,
    maxActive: key.maxActive ?? limits.maxActive,
  };
}

/**
 * An onRequest hook: authentication runs before the body is read, so a caller without a valid
 * key learns nothing about what its body would have got (and costs no parsing).
 */
export const requireKey =
  (deps: AuthDeps) =>
  async (req: FastifyRequest): Promise<void> => {
    await authenticateKey(req, deps);
  };

/** The authenticated caller of a route guarded by requireKey. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw errors.missingApiKey();
  return req.principal;
}

/**
 * The admin token guards /admin. A valid API key is not enough: it is recognised and refused
 * with 403 (known caller, not allowed); a revoked or expired key is no credential at all (401,
 * saying why), like anything else.
 */
export const requireAdmin =
  (adminTokenHash: string, keys: KeyStore, clock: Clock) =>
  async (req: FastifyRequest): Promise<void> => {
    const token = bearer(req);
    if (token && secretMatches(token, adminTokenHash)) return;
    const key = token ? await keys.findByHash(hashSecret(token)) : undefined;
    if (!key) throw errors.invalidAdminToken();
    const why = keyUnusable(key, clock.now());
    if (why) throw errors.keyUnusable(why);
    throw errors.adminOnly();
  };
