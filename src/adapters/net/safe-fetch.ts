/**
 * Downloads user-supplied image URLs without letting them reach the server's own network (SSRF).
 * Every hop's host is resolved once, every resolved address must be public unicast (unless the host
 * is allow-listed), and the connection goes to exactly the checked addresses: a second DNS answer
 * (DNS rebinding) is never consulted.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import { ErrorCode, errors, isReelayError, type ReelayError } from "../../core/errors.js";
import { ALLOWED_IMAGES_TEXT, isImageType } from "../../core/media/media_types.js";
import { sniffFile } from "../providers/local-renderer/media-input.js";
import {
  createHostGuard,
  describeNetworkError,
  discard,
  GuardError,
  header,
  type ResolvedAddress,
  type Resolver,
} from "./guard.js";

export { classifyAddress, type ResolvedAddress, type Resolver } from "./guard.js";

export interface ImageFetcherOptions {
  /** Hosts (`name` or `name:port`, case-insensitive) exempt from the address check, e.g. a local test server. */
  readonly allowHosts: readonly string[];
  readonly maxBytes: number;
  /** Budget for the whole download, redirects included. */
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  /** Defaults to the system resolver; tests inject a fake. */
  readonly resolve?: Resolver;
}

export interface FetchedImage {
  readonly bytes: number;
  readonly contentType: string;
}

export interface ImageFetcher {
  /**
   * Streams the image at `url` into `destPath`. Throws ReelayErrors tagged with `images[index]`:
   * `image_refused` for a URL the guard rejects or bytes that are not an accepted image type
   * (PNG, JPEG, WebP, GIF, by magic bytes), `image_fetch_failed` (retryable for timeouts, network
   * errors, 5xx, 408, 429) otherwise. Rethrows the caller's abort reason when `signal` aborts.
   */
  fetchTo(url: string, destPath: string, opts: { index: number; signal: AbortSignal }): Promise<FetchedImage>;
  /**
   * Checks the links of a create before any is fetched: `image_refused` (a 400 naming the image)
   * for a link the guard would refuse (scheme, credentials, a host that resolves to a non-public
   * address). A host that does not resolve now is left to the fetch; every fetch checks again.
   */
  check(urls: readonly string[], signal: AbortSignal): Promise<void>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Builds the guarded downloader; holds no connections between calls. */
export function createImageFetcher(opts: ImageFetcherOptions): ImageFetcher {
  const guard = createHostGuard({
    allowHosts: opts.allowHosts,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });
  return {
    async check(urls, signal) {
      const verdicts = await Promise.allSettled(
        urls.map(async (raw, index) => {
          if (raw.startsWith("data:")) return;
          const url = parseUrl(raw, index);
          try {
            await checkedAddresses(url, index, signal);
          } catch (e) {
            if (isReelayError(e) && e.code === ErrorCode.imageRefused) throw e;
          }
        }),
      );
      // The first refused image by position, whichever answer came first.
      const refused = verdicts.find((v) => v.status === "rejected");
      if (refused) throw refused.reason;
    },
    async fetchTo(url, destPath, { index, signal }) {
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      try {
        return await download(url, destPath, index, both);
      } catch (e) {
        await rm(destPath, { force: true });
        if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error("aborted");
        if (isReelayError(e)) throw e;
        if (timeout.aborted)
          throw errors.imageFetchFailed(index, `timed out after ${opts.timeoutMs} ms`, true);
        throw errors.imageFetchFailed(index, `network error: ${describeNetworkError(e)}`, true);
      }
    },
  };

  async function download(url: string, destPath: string, index: number, signal: AbortSignal) {
    let current = parseUrl(url, index);
    for (let hop = 0; ; hop++) {
      const addresses = await checkedAddresses(current, index, signal);
      const agent = await guard.agent(current.hostname, addresses, opts.timeoutMs);
      try {
        // undici loads on the first download, as the guard's agent does: an idle process never
        // needs it (≈ 2 MiB of heap and its WebAssembly HTTP parser).
        const { request } = await import("undici");
        const res = await request(current, {
          method: "GET",
          dispatcher: agent,
          signal,
          headers: { accept: "image/*", "user-agent": "Reelay image fetcher" },
        });
        const location = header(res.headers, "location");
        if (REDIRECTS.has(res.statusCode) && location !== undefined) {
          discard(res.body);
          if (hop >= opts.maxRedirects) {
            throw errors.imageFetchFailed(
              index,
              `too many redirects (more than ${opts.maxRedirects})`,
              false,
            );
          }
          current = parseUrl(new URL(location, current).toString(), index);
          continue;
        }
        return await saveBody(res, destPath, index, signal);
      } finally {
        // Per-hop agent: its sockets belong to this hop's checked addresses only.
        await agent.destroy().catch(() => {});
      }
    }
  }

  async function saveBody(
    res: Dispatcher.ResponseData,
    destPath: string,
    index: number,
    signal: AbortSignal,
  ) {
    const status = res.statusCode;
    if (status < 200 || status > 299) {
      discard(res.body);
      const retryable = status >= 500 || status === 408 || status === 429;
      throw errors.imageFetchFailed(index, `the server answered HTTP ${status}`, retryable);
    }
    const contentType = header(res.headers, "content-type") ?? "";
    if (!contentType.toLowerCase().startsWith("image/")) {
      discard(res.body);
      const got = contentType === "" ? "no content type" : `content type '${contentType.slice(0, 100)}'`;
      throw errors.imageFetchFailed(index, `expected an image but got ${got}`, false);
    }
    const declared = Number(header(res.headers, "content-length"));
    if (Number.isFinite(declared) && declared > opts.maxBytes) {
      discard(res.body);
      throw tooLarge(index, opts.maxBytes);
    }
    let bytes = 0;
    const limit = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        done(bytes > opts.maxBytes ? tooLarge(index, opts.maxBytes) : null, chunk);
      },
    });
    await pipeline(res.body, limit, createWriteStream(destPath), { signal });
    // The content type is the server's word; the bytes decide. Anything else handed to ffmpeg as an
    // image (an HLS playlist, a concat list) could make it read local files (media-input.ts).
    if (!isImageType(await sniffFile(destPath))) {
      throw errors.imageRefused(index, `the linked file is not ${ALLOWED_IMAGES_TEXT} (judged by its bytes)`);
    }
    return { bytes, contentType };
  }

  /** The guard's checked addresses; its refusals become this image's errors. */
  async function checkedAddresses(url: URL, index: number, signal: AbortSignal): Promise<ResolvedAddress[]> {
    try {
      return await guard.addresses(url, signal);
    } catch (e) {
      throw e instanceof GuardError ? imageError(e, index) : e;
    }
  }

  function parseUrl(raw: string, index: number): URL {
    try {
      return guard.parse(raw);
    } catch (e) {
      throw e instanceof GuardError ? imageError(e, index) : e;
    }
  }
}

const imageError = (e: GuardError, index: number): ReelayError =>
  e.kind === "refused"
    ? errors.imageRefused(index, e.message)
    : errors.imageFetchFailed(index, e.message, e.retryable);

const tooLarge = (index: number, maxBytes: number): ReelayError =>
  errors.imageFetchFailed(index, `larger than ${maxBytes} bytes`, false);
