/**
 * The SSRF guard every outbound call to a user-supplied URL goes through (image links, webhook
 * endpoints). A URL's host is resolved once, every resolved address must be public unicast
 * (unless the host is allow-listed), and the connection goes to exactly the checked addresses:
 * a second DNS answer (DNS rebinding) is never consulted.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP, type LookupFunction } from "node:net";
import ipaddr from "ipaddr.js";
import type { Agent, Dispatcher } from "undici";

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Why the guard said no. `refused`: the URL may never be called (bad scheme, private address);
 * `unresolvable`: its host has no usable address now (`retryable` when asking again may help).
 */
export class GuardError extends Error {
  constructor(
    readonly kind: "refused" | "unresolvable",
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = "GuardError";
  }
}

export interface HostGuardOptions {
  /** Hosts (`name` or `name:port`, case-insensitive) exempt from the address check, e.g. a local test server. */
  readonly allowHosts: readonly string[];
  /** Defaults to the system resolver; tests inject a fake. */
  readonly resolve?: Resolver;
}

export interface HostGuard {
  /** Parses `raw` as an http(s) URL without credentials; GuardError `refused` otherwise. */
  parse(raw: string): URL;
  /** The checked addresses of the URL's host (resolved once); GuardError when it may not be called. */
  addresses(url: URL, signal: AbortSignal): Promise<ResolvedAddress[]>;
  /**
   * An agent whose every connection goes to `addresses` (from `addresses()`), with these timeouts.
   * Async because undici loads on first use: a process that never calls out does not hold it.
   */
  agent(hostname: string, addresses: readonly ResolvedAddress[], timeoutMs: number): Promise<Agent>;
}

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

export function createHostGuard(opts: HostGuardOptions): HostGuard {
  const allow = new Set(opts.allowHosts.map((h) => h.toLowerCase()));
  const resolve = opts.resolve ?? systemResolve;

  function isAllowed(url: URL): boolean {
    const port = url.port || (url.protocol === "https:" ? "443" : "80");
    const host = url.hostname.toLowerCase();
    return allow.has(host) || allow.has(`${host}:${port}`);
  }

  async function resolveHost(hostname: string): Promise<ResolvedAddress[]> {
    try {
      return await resolve(hostname);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // NXDOMAIN is an answer, not trouble: retrying will not make the name exist.
      if (code === "ENOTFOUND") throw new GuardError("unresolvable", `host '${hostname}' not found`);
      throw new GuardError("unresolvable", `could not resolve '${hostname}': ${code ?? String(e)}`, true);
    }
  }

  return {
    parse(raw) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new GuardError("refused", "is not a valid URL");
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") {
        throw new GuardError("refused", `only http and https URLs are allowed (got '${url.protocol}')`);
      }
      if (url.username !== "" || url.password !== "") {
        throw new GuardError("refused", "URLs with credentials are not allowed");
      }
      return url;
    },

    async addresses(url, signal) {
      const bare = url.hostname.replace(/^\[|\]$/g, "");
      const literal = isIP(bare);
      const addresses: ResolvedAddress[] =
        literal === 4 || literal === 6
          ? [{ address: bare, family: literal }]
          : await abortable(resolveHost(bare), signal);
      if (addresses.length === 0) throw new GuardError("unresolvable", `host '${bare}' has no address`);
      if (isAllowed(url)) return addresses;
      for (const { address } of addresses) {
        const verdict = classifyAddress(address);
        if (verdict !== "public") {
          throw new GuardError(
            "refused",
            `host '${bare}' resolves to ${address}, a ${verdict} address; only public addresses may be reached`,
          );
        }
      }
      return addresses;
    },

    agent: pinnedAgent,
  };
}

/**
 * An agent whose every connection goes to the already-checked addresses of `hostname`. undici passes
 * `lookup` to net/tls.connect; the URL keeps its hostname, so Host and TLS SNI stay right.
 */
async function pinnedAgent(
  hostname: string,
  addresses: readonly ResolvedAddress[],
  timeoutMs: number,
): Promise<Agent> {
  const { Agent } = await import("undici");
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

/** dns.lookup cannot be cancelled; stop waiting for it when the call is aborted. */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

export const header = (headers: Dispatcher.ResponseData["headers"], name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Drops a body we will not read; undici reports the destroy as an error event, expected here. */
export const discard = (body: Dispatcher.ResponseData["body"]): void => {
  body.on("error", () => {});
  body.destroy();
};

export function describeNetworkError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const code = (e as NodeJS.ErrnoException).code;
  const cause = e.cause instanceof Error ? `: ${e.cause.message}` : "";
  return `${code ? `${code} ` : ""}${e.message}${cause}`.slice(0, 300);
}
