/**
 * Kling's access key + secret key scheme (Kling API reference, "General Information → API
 * Authentication"): each request carries `Authorization: Bearer <JWT>`, an HS256 token signed with
 * the secret key, header `{alg: "HS256", typ: "JWT"}`, claims `{iss: <access key>, exp: now + 1800,
 * nbf: now - 5}` (seconds). Signed here with node:crypto; tokens are cached and renewed a while
 * before they expire, so a long poll loop never sends a stale one.
 */
import { createHmac } from "node:crypto";

/** How long a token is valid (Kling's example: 30 minutes). */
export const KLING_TOKEN_TTL_S = 1800;
/** Tokens are renewed once less than this is left. */
const RENEW_BEFORE_S = 300;

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** An HS256 JWT for `accessKey`, valid from `nowS - 5` to `nowS + 1800`. */
export function signKlingJwt(keys: { accessKey: string; secretKey: string }, nowS: number): string {
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const payload = b64url(
    JSON.stringify({ iss: keys.accessKey, exp: nowS + KLING_TOKEN_TTL_S, nbf: nowS - 5 }),
  );
  const sig = createHmac("sha256", keys.secretKey).update(`${header}.${payload}`).digest();
  return `${header}.${payload}.${b64url(sig)}`;
}

/**
 * The `Authorization` header for each call: one signed token, reused until it is within five
 * minutes of its expiry, then replaced. `now` is injectable for tests.
 */
export function klingJwtHeaders(
  keys: { accessKey: string; secretKey: string },
  now: () => number = Date.now,
): () => Record<string, string> {
  let token: string | null = null;
  let expS = 0;
  return () => {
    const nowS = Math.floor(now() / 1000);
    if (!token || expS - nowS < RENEW_BEFORE_S) {
      token = signKlingJwt(keys, nowS);
      expS = nowS + KLING_TOKEN_TTL_S;
    }
    return { authorization: `Bearer ${token}` };
  };
}
