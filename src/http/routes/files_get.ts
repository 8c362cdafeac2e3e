/** `GET /files/<key>?exp=&sig=`: stored results behind expiring signed links. */
import type { FastifyInstance } from "fastify";
import { errors } from "../../core/errors.js";
import { sendBlob } from "../blob_response.js";
import type { AppServices } from "../services.js";

export function filesGet(app: FastifyInstance, s: AppServices): void {
  app.get("/files/*", async (req, reply) => {
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
  });
}
