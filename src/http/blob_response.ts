/**
 * Sends a stored blob with HTTP Range support (players seek with it; browsers will not play an
 * MP4 without it). Shared by signed links and the OpenAI content route.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import parseRange from "range-parser";
import { errors } from "../core/errors.js";
import type { BlobStore } from "../core/media/ports.js";

const PRESIGNED_TTL_S = 300;

/**
 * Whether a Range header is valid byte-range syntax (RFC 9110 §14.1.1): each range `first-last`
 * with first ≤ last, `first-` or `-suffix`. An invalid one (`bytes=100-50`, `items=1-2`, junk) is
 * ignored and the whole file sent; only a valid one that misses the file is 416.
 */
function wellFormedRange(header: string): boolean {
  const m = /^bytes=(.+)$/i.exec(header.trim());
  if (!m?.[1]) return false;
  return m[1].split(",").every((spec) => {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(spec);
    if (!r || (r[1] === "" && r[2] === "")) return false;
    return r[1] === "" || r[2] === "" || Number(r[1]) <= Number(r[2]);
  });
}

export async function sendBlob(
  req: FastifyRequest,
  reply: FastifyReply,
  blobs: BlobStore,
  key: string,
  opts: { filename: string; cacheControl: string },
): Promise<FastifyReply> {
  const info = await blobs.stat(key);
  if (!info) throw errors.routeNotFound(req.method, "stored file (it was deleted)");
  if (blobs.downloadUrl) {
    // The bucket serves it (Range included): a short-lived presigned URL, fetched at once by the
    // client following the redirect. The Reelay link is the one meant to be kept.
    const location = await blobs.downloadUrl(key, { ttlS: PRESIGNED_TTL_S, filename: opts.filename });
    return reply.code(302).header("location", location).header("cache-control", "no-store").send();
  }
  reply
    .header("accept-ranges", "bytes")
    .header("content-type", info.contentType)
    .header("content-disposition", `inline; filename="${opts.filename}"`)
    .header("cache-control", opts.cacheControl);

  const header = req.headers.range;
  if (header !== undefined && wellFormedRange(header)) {
    const ranges = parseRange(info.size, header, { combine: true });
    if (ranges === -1) {
      reply.header("content-range", `bytes */${info.size}`);
      throw errors.rangeNotSatisfiable(info.size);
    }
    // Several ranges: send the whole file, as RFC 9110 allows.
    if (ranges !== -2 && ranges.type === "bytes" && ranges.length === 1 && ranges[0]) {
      const { start, end } = ranges[0];
      reply
        .code(206)
        .header("content-range", `bytes ${start}-${end}/${info.size}`)
        .header("content-length", end - start + 1);
      return reply.send(await blobs.read(key, { start, end }));
    }
  }
  reply.header("content-length", info.size);
  return reply.send(await blobs.read(key));
}
