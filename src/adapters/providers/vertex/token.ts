/**
 * A Google service account's OAuth access token, as Google's "OAuth 2.0 for server to server
 * applications" describes it (https://developers.google.com/identity/protocols/oauth2/service-account):
 * an RS256 JWT `{iss: client_email, scope, aud: token URL, iat, exp ≤ iat + 3600}` signed with the
 * key's `private_key`, exchanged at the token URL (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
 * form-encoded) for `{access_token, expires_in, token_type: "Bearer"}`; refusals are
 * `{error: "invalid_grant", error_description}`. The token is cached until shortly before it
 * expires; `ensure()` (async) renews it, `headers()` (sync) hands it to the channel's HTTP client.
 */
import { createPrivateKey, createSign, type KeyObject } from "node:crypto";
import { request } from "undici";
import { errors } from "../../../core/errors.js";

export const CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform";

export interface ServiceAccountKey {
  readonly clientEmail: string;
  readonly privateKey: KeyObject;
  readonly tokenUrl: string;
}

/** The key JSON's fields Reelay uses; `tokenUrl` (the channel's) overrides `token_uri`. */
export function readServiceAccountKey(json: string, tokenUrl?: string): ServiceAccountKey {
  const k = JSON.parse(json) as Record<string, unknown>;
  const url = tokenUrl ?? k.token_uri;
  if (typeof k.client_email !== "string" || typeof k.private_key !== "string" || typeof url !== "string")
    throw new Error("the service-account key lacks client_email, private_key or token_uri");
  return { clientEmail: k.client_email, privateKey: createPrivateKey(k.private_key), tokenUrl: url };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** The signed assertion, valid for an hour from `nowS`. */
export function signAssertion(key: ServiceAccountKey, nowS: number): string {
  const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  const claims = b64url(
    JSON.stringify({
      iss: key.clientEmail,
      scope: CLOUD_PLATFORM_SCOPE,
      aud: key.tokenUrl,
      iat: nowS,
      exp: nowS + 3600,
    }),
  );
  const signer = createSign("RSA-SHA256");
  signer.update(`${header}.${claims}`);
  return `${header}.${claims}.${signer.sign(key.privateKey).toString("base64url")}`;
}

export interface TokenSource {
  /** Makes sure a fresh token is at hand (fetches one when none is, or it is about to expire). */
  ensure(signal: AbortSignal): Promise<void>;
  /** The `Authorization` header with the current token (none before the first `ensure`). */
  headers(): Record<string, string>;
}

/** Renew this long before Google's expiry. */
const MARGIN_S = 60;

export function createTokenSource(
  channelId: string,
  key: ServiceAccountKey,
  opts: { timeoutMs: number; now?: () => number },
): TokenSource {
  const now = opts.now ?? Date.now;
  let token: { value: string; expiresAtMs: number } | null = null;
  let pending: Promise<void> | null = null;

  const refuse = (status: number | null, code: string | null, message: string, retryable: boolean) =>
    errors.upstreamRejected(
      channelId,
      { status, code, message: `token endpoint: ${message}` },
      { retryable },
    );

  async function fetchToken(signal: AbortSignal): Promise<void> {
    const body = new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
      assertion: signAssertion(key, Math.floor(now() / 1000)),
    }).toString();
    let status: number;
    let text: string;
    try {
      const res = await request(key.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (e) {
      throw refuse(null, null, `unreachable (${(e as Error).message})`, true);
    }
    let json: Record<string, unknown> = {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === "object") json = parsed as Record<string, unknown>;
    } catch {
      // Not JSON: judged by the status below.
    }
    if (status !== 200 || typeof json.access_token !== "string") {
      const code = typeof json.error === "string" ? json.error : null;
      const said = typeof json.error_description === "string" ? json.error_description : `HTTP ${status}`;
      // A refused key, a disabled account, the endpoint down: all the channel's, never the request's.
      throw refuse(status, code, said, true);
    }
    const expiresIn = typeof json.expires_in === "number" && json.expires_in > 0 ? json.expires_in : 3600;
    token = {
      value: json.access_token,
      expiresAtMs: now() + Math.max(0, expiresIn - Math.min(MARGIN_S, expiresIn / 2)) * 1000,
    };
  }

  return {
    async ensure(signal) {
      if (token && now() < token.expiresAtMs) return;
      pending ??= fetchToken(signal).finally(() => {
        pending = null;
      });
      await pending;
    },
    headers: () => (token ? { authorization: `Bearer ${token.value}` } : {}),
  };
}
