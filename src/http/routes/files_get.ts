/**
 * `GET /files/<key>?exp=&sig=`: stored results behind expiring signed links, with HTTP Range
 * support (players seek with it; browsers will not play an MP4 without it).
 */
import type { FastifyInstance } from "fastify";
import parseRange from "range-parser";
import { errors } from "../../core/errors.js";
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

    const info = await s.blobs.stat(key);
    if (!info) throw errors.routeNotFound("GET", "/files/…");
    const name = key.split("/").pop() ?? "file";
    reply
      .header("accept-ranges", "bytes")
      .header("content-type", info.contentType)
      .header("content-disposition", `inline; filename="${name}"`)
      // The link is the credential: caches may keep the bytes only as long as the link lives.
      .header("cache-control", `private, max-age=${Math.max(0, Number(exp) - Math.floor(now / 1000))}`);

    const header = req.headers.range;
    if (header !== undefined) {
      const ranges = parseRange(info.size, header, { combine: true });
      if (ranges === -1) {
        reply.header("content-range", `bytes */${info.size}`);
        throw errors.rangeNotSatisfiable(info.size);
      }
      // A malformed header or several ranges: send the whole file, as RFC 9110 allows.
      if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1 && ranges[0]) {
        const { start, end } = ranges[0];
        reply
          .code(206)
          .header("content-range", `bytes ${start}-${end}/${info.size}`)
          .header("content-length", end - start + 1);
        return reply.send(await s.blobs.read(key, { start, end }));
      }
    }
    reply.header("content-length", info.size);
    return reply.send(await s.blobs.read(key));
  });
}
