/**
 * Checking providers' callbacks. Each comes to a URL whose token Reelay checked already; these say
 * what the provider's own signature (where it signs) and body make of it:
 * - unsigned (Kling, Seedance, MiniMax): the body must be a JSON object; it names the task;
 * - Standard Webhooks (Replicate): `webhook-id`, `webhook-timestamp` (within 5 minutes),
 *   `webhook-signature` (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`), the key from the
 *   account's signing secret (`whsec_…`);
 * - fal: `X-Fal-Webhook-Request-Id`, `-User-Id`, `-Timestamp` (within 5 minutes) and `-Signature`
 *   (hex ED25519 over `request id \n user id \n timestamp \n sha256 hex of the body`), checked
 *   against the public keys fal publishes as a JWKS.
 * Keys fetched from the provider are cached, and fetched again (at most once a minute) when a
 * signature fails, so a rotated key is picked up.
 */
import { createHash, createPublicKey, type KeyObject, verify } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type { CallbackRequest, CallbackVerdict } from "../../../core/upstream/ports.js";
import { obj, str } from "./status.js";

/** Signatures older or newer than this are refused (a replay, or a clock far off). */
export const CALLBACK_TOLERANCE_S = 300;

const refused = (reason: string): CallbackVerdict => ({ kind: "refused", reason });

/** The body as a JSON object; null when it is not one. */
export function callbackJson(body: Buffer): Record<string, unknown> | null {
  try {
    const j: unknown = JSON.parse(body.toString("utf8"));
    return j && typeof j === "object" && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A callback the provider does not sign: the URL's token was the check; the body names the task. */
export function unsignedCallback(
  req: CallbackRequest,
  idOf: (body: Record<string, unknown>) => string | null,
): CallbackVerdict {
  const j = callbackJson(req.body);
  return j ? { kind: "task", upstreamId: idOf(j) } : refused("the body is not a JSON object");
}

/** Keys fetched once and kept, fetched again after a failed check (at most once a minute). */
export function cachedKeys<K>(fetchKeys: (signal: AbortSignal) => Promise<K>, minRefetchMs = 60_000) {
  let held: { keys: Promise<K>; at: number } | null = null;
  const load = (signal: AbortSignal, now: number) => {
    const keys = fetchKeys(signal);
    held = { keys, at: now };
    // A failed fetch is not kept: the next callback tries again.
    keys.catch(() => {
      if (held?.keys === keys) held = null;
    });
    return keys;
  };
  return {
    get: (signal: AbortSignal, now: number): Promise<K> => held?.keys ?? load(signal, now),
    /** Fetches again when the keys held are older than a minute; null when they are not. */
    refresh: (signal: AbortSignal, now: number): Promise<K> | null =>
      held && now - held.at < minRefetchMs ? null : load(signal, now),
  };
}

/** Checks a Standard Webhooks signature (Replicate) with `secret`; then the body names the task. */
export function standardWebhookCallback(
  secret: string,
  req: CallbackRequest,
  idOf: (body: Record<string, unknown>) => string | null,
): CallbackVerdict {
  const id = req.headers["webhook-id"];
  const timestamp = req.headers["webhook-timestamp"];
  const signature = req.headers["webhook-signature"];
  if (!id || !timestamp || !signature)
    return refused("webhook-id, webhook-timestamp and webhook-signature are required");
  try {
    new Webhook(secret).verify(req.body.toString("utf8"), {
      "webhook-id": id,
      "webhook-timestamp": timestamp,
      "webhook-signature": signature,
    });
  } catch (e) {
    return refused(`the webhook signature does not verify (${(e as Error).message})`);
  }
  return unsignedCallback(req, idOf);
}

/** fal's public keys from its JWKS (`{keys: [{kty: "OKP", crv: "Ed25519", x}]}`). */
export function ed25519Keys(jwks: unknown): KeyObject[] {
  const list = Array.isArray(obj(jwks).keys) ? (obj(jwks).keys as unknown[]) : [];
  const keys: KeyObject[] = [];
  for (const k of list) {
    const x = str(obj(k).x);
    if (!x || obj(k).crv !== "Ed25519") continue;
    try {
      keys.push(createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" }));
    } catch {
      // A key that is not one is skipped; the others may still verify.
    }
  }
  return keys;
}

/** The parts of a fal webhook's signature, or why they are missing or stale. */
export function falSignedMessage(req: CallbackRequest): { message: Buffer; signature: Buffer } | string {
  const h = (name: string) => req.headers[`x-fal-webhook-${name}`];
  const [requestId, userId, timestamp, signatureHex] = [
    h("request-id"),
    h("user-id"),
    h("timestamp"),
    h("signature"),
  ];
  if (!requestId || !userId || !timestamp || !signatureHex)
    return "the X-Fal-Webhook-Request-Id, -User-Id, -Timestamp and -Signature headers are required";
  const ts = Number(timestamp);
  if (!/^\d{1,12}$/.test(timestamp) || Math.abs(req.now / 1000 - ts) > CALLBACK_TOLERANCE_S)
    return "the webhook timestamp is missing, malformed or more than 5 minutes off";
  if (!/^[0-9a-f]{128}$/i.test(signatureHex)) return "the webhook signature is not 64 bytes of hex";
  const digest = createHash("sha256").update(req.body).digest("hex");
  return {
    message: Buffer.from([requestId, userId, timestamp, digest].join("\n"), "utf8"),
    signature: Buffer.from(signatureHex, "hex"),
  };
}

/** Whether any of `keys` verifies fal's signature. */
export const falSignatureValid = (
  signed: { message: Buffer; signature: Buffer },
  keys: readonly KeyObject[],
): boolean => keys.some((k) => verify(null, signed.message, k, signed.signature));
