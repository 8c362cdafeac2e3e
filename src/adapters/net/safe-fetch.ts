/**
 * Downloads user-supplied image URLs without letting them reach the server's own network (SSRF).
 * Every hop's host is resolved once, every resolved address must be public unicast (unless the host
 * is allow-listed), and the connection goes to exactly the checked addresses: a second DNS answer
 * (DNS rebinding) is never consulted.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { isIP, type LookupFunction } from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import ipaddr from "ipaddr.js";
import { Agent, type Dispatcher, request } from "undici";
import { errors, isReelayError, type ReelayError } from "../../core/errors.js";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

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
   * `image_refused` for a URL the guard rejects, `image_fetch_failed` (retryable for timeouts, network
   * errors, 5xx, 408, 429) otherwise. Rethrows the caller's abort reason when `signal` aborts.
   */
  fetchTo(url: string, destPath: string, opts: { index: number; signal: AbortSignal }): Promise<FetchedImage>;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Human names of the ranges ipaddr.js reports, so a refusal says which block the address is in. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: "unspecified (0.0.0.0/8, ::)",
  broadcast: "broadcast (255.255.255.255)",
  multicast: "multicast (224.0.0.0/4, ff00::/8)",
  linkLocal: "link-local (169.254.0.0/16, fe80::/10)",
  loopback: "loopback (127.0.0.0/8, ::1)",
  carrierGradeNat: "carrier-grade NAT (100.64.0.0/10)",
  private: "private (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)",
  reserved: "reserved",
  uniqueLocal: "unique local (fc00::/7)",
  benchmarking: "benchmarking (198.18.0.0/15, 2001:2::/48)",
  deprecatedSiteLocal: "site-local (fec0::/10)",
  rfc6145: "IPv4-translated (::ffff:0:0:0/96)",
  "6to4": "6to4 (2002::/16)",
  teredo: "Teredo (2001::/32)",
};

/**
 * `"public"` when a connection to `address` may leave the server's own networks, else the name of the
 * range that makes it unsafe (`"loopback (127.0.0.0/8, ::1)"`, `"private (…)"`, …).
 */
export function classifyAddress(address: string): "public" | string {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return "not a valid IP address";
  }
  if (ip.kind() === "ipv6") {
    const v6 = ip as ipaddr.IPv6;
    // These embed an IPv4 address the kernel or a NAT64 gateway will actually reach: judge that one.
    if (v6.isIPv4MappedAddress()) return embedded("IPv4-mapped", v6.toIPv4Address().toString());
    const p = v6.parts;
    if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) {
      return embedded("NAT64", ipaddr.fromByteArray(v6.toByteArray().slice(12)).toString());
    }
    if (p.slice(0, 6).every((x) => x === 0) && v6.range() === "unicast") {
      return "IPv4-compatible (::/96, deprecated)";
    }
  }
  const range = ip.range();
  return range === "unicast" ? "public" : (RANGE_NAMES[range] ?? range);
}

const embedded = (kind: string, v4: string): string => {
  const inner = classifyAddress(v4);
  return inner === "public" ? "public" : `${kind} ${inner}`;
};

/** Builds the guarded downloader; holds no connections between calls. */
export function createImageFetcher(opts: ImageFetcherOptions): ImageFetcher {
  const allow = new Set(opts.allowHosts.map((h) => h.toLowerCase()));
  const resolve = opts.resolve ?? systemResolve;
  return {
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
      const agent = pinnedAgent(current.hostname, addresses, opts.timeoutMs);
      try {
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
    return { bytes, contentType };
  }

  /** Resolves the URL's host once and refuses it unless every address is public or the host is allowed. */
  async function checkedAddresses(url: URL, index: number, signal: AbortSignal): Promise<ResolvedAddress[]> {
    const bare = url.hostname.replace(/^\[|\]$/g, "");
    const literal = isIP(bare);
    const addresses: ResolvedAddress[] =
      literal === 4 || literal === 6
        ? [{ address: bare, family: literal }]
        : await abortable(resolveHost(bare, index), signal);
    if (addresses.length === 0) throw errors.imageFetchFailed(index, `host '${bare}' has no address`, false);
    if (isAllowed(url)) return addresses;
    for (const { address } of addresses) {
      const verdict = classifyAddress(address);
      if (verdict !== "public") {
        throw errors.imageRefused(
          index,
          `host '${bare}' resolves to ${address}, a ${verdict} address; only public addresses may be fetched`,
        );
      }
    }
    return addresses;
  }

  async function resolveHost(hostname: string, index: number): Promise<ResolvedAddress[]> {
    try {
      return await resolve(hostname);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // NXDOMAIN is an answer, not trouble: retrying will not make the name exist.
      if (code === "ENOTFOUND") throw errors.imageFetchFailed(index, `host '${hostname}' not found`, false);
      throw errors.imageFetchFailed(index, `could not resolve '${hostname}': ${code ?? String(e)}`, true);
    }
  }

  function isAllowed(url: URL): boolean {
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const host = url.hostname.toLowerCase();
    return allow.has(host) || allow.has(`${host}:${port}`);
  }
}

function parseUrl(raw: string, index: number): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw errors.imageRefused(index, "is not a valid URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw errors.imageRefused(index, `only http and https URLs may be fetched (got '${url.protocol}')`);
  }
  if (url.username !== "" || url.password !== "") {
    throw errors.imageRefused(index, "URLs with credentials may not be fetched");
  }
  return url;
}

/**
 * An agent whose every connection goes to the already-checked addresses of `hostname`. undici passes
 * `lookup` to net/tls.connect; the URL keeps its hostname, so Host and TLS SNI stay right.
 */
function pinnedAgent(hostname: string, addresses: readonly ResolvedAddress[], timeoutMs: number): Agent {
  const lookup: LookupFunction = (_host, options, callback) => {
    const fitting = addresses.filter((a) => !options.family || a.family === options.family);
    const first = fitting[0];
    if (first === undefined) {
      callback(Object.assign(new Error(`no checked address for ${hostname}`), { code: "ENOTFOUND" }), "", 4);
    } else if (options.all) {
      callback(
        null,
        fitting.map((a) => ({ address: a.address, family: a.family })),
      );
    } else {
      callback(null, first.address, first.family);
    }
  };
  return new Agent({
    connect: { lookup, timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
}

const systemResolve: Resolver = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/** dns.lookup cannot be cancelled; stop waiting for it when the download is aborted. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

const header = (headers: Dispatcher.ResponseData["headers"], name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Drops a body we will not read; undici reports the destroy as an error event, expected here. */
const discard = (body: Dispatcher.ResponseData["body"]): void => {
  body.on("error", () => {});
  body.destroy();
};

const tooLarge = (index: number, maxBytes: number): ReelayError =>
  errors.imageFetchFailed(index, `larger than ${maxBytes} bytes`, false);

function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${code ? `${code} ` : ""}${e.message}${cause}`.slice(0, 300);
}
