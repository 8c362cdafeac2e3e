/**
 * Expiring, HMAC-signed links to stored results: `/files/<key>?exp=<unix s>&sig=<hmac>`.
 * Anyone holding the link can fetch the file until it expires; nothing else opens it.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export interface LinkSigner {
  /** An absolute URL for `key`, valid for the configured time from `now`. */
  sign(key: string, now: number): { url: string; expiresAt: number };
  /** Checks a request's path key and query; "ok", or why it is refused. */
  verify(
    key: string,
    exp: string | undefined,
    sig: string | undefined,
    now: number,
  ): "ok" | "expired" | "invalid";
}

export function createLinkSigner(opts: { secret: string; publicUrl: string; ttlS: number }): LinkSigner {
  const mac = (key: string, exp: number): Buffer =>
    createHmac("sha256", opts.secret).update(`${key}\n${exp}`).digest();
  const base = opts.publicUrl.replace(/\/+$/, "");
  return {
    sign(key, now) {
      const exp = Math.floor(now / 1000) + opts.ttlS;
      const path = key.split("/").map(encodeURIComponent).join("/");
      return {
        url: `${base}/files/${path}?exp=${exp}&sig=${mac(key, exp).toString("base64url")}`,
        expiresAt: exp,
      };
    },
    verify(key, exp, sig, now) {
      if (!exp || !sig || !/^\d{1,12}$/.test(exp)) return "invalid";
      const expected = mac(key, Number(exp));
      const given = Buffer.from(sig, "base64url");
      // Check the signature before the expiry, so a tampered link never learns whether it was fresh.
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return "invalid";
      return Number(exp) * 1000 < now ? "expired" : "ok";
    },
  };
}
