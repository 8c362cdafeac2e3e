/** `GET /files/<key>?exp=&sig=`: stored results behind expiring signed links. */
import { z } from "zod";
import { ErrorCode, errors } from "../../core/errors.js";
import { sendBlob } from "../blob_response.js";
import type { Route } from "../route.js";

export const filesGet: Route = {
  method: "GET",
  url: "/files/*",
  auth: "signed",
  summary: "A stored result behind an expiring signed link (Range supported)",
  tag: "Results",
  query: {
    exp: { schema: z.string(), required: true, description: "Expiry, Unix seconds" },
    sig: { schema: z.string(), required: true, description: "HMAC signature" },
  },
  ok: { status: 200, contentType: "application/octet-stream", description: "The bytes" },
  also: [
    { status: 206, contentType: "application/octet-stream", description: "The bytes of a Range" },
    { status: 302, description: "Redirect to the object store's own signed link (S3 proxy off)" },
  ],
  errors: [ErrorCode.notFound, ErrorCode.rangeNotSatisfiable, ErrorCode.storageUnavailable],
  handler: (s) => async (req, reply) => {
    const key = (req.params as { "*": string })["*"];
    const q = req.query as Record<string, unknown>;
    const exp = typeof q.exp === "string" ? q.exp : undefined;
    const sig = typeof q.sig === "string" ? q.sig : undefined;
    const now = s.clock.now();
    const verdict = s.links.verify(key, exp, sig, now);
    if (verdict === "expired") throw errors.linkExpired();
    if (verdict !== "ok") throw errors.linkInvalid();
    return sendBlob(req, reply, s.blobs, key, {
      filename: key.split("/").pop() ?? "file",
      // The link is the credential: caches may keep the bytes only as long as the link lives.
      cacheControl: `private, max-age=${Math.max(0, Number(exp) - Math.floor(now / 1000))}`,
    });
  },
};
