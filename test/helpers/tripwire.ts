/**
 * Test helpers for SSRF suites: a tripwire on every outbound connection and a fake DNS.
 */
import net from "node:net";
import tls from "node:tls";
import { vi } from "vitest";
import type { Resolver } from "../../src/adapters/net/guard.js";

/**
 * Tripwire: every outbound connection must go to 127.0.0.1. If the guard were broken, a test would
 * otherwise send packets to 10.0.0.5 or 169.254.169.254; this makes it fail locally instead.
 * undici calls `net.connect`/`tls.connect` on these module objects, so spying on them sees every
 * connection; the address is checked where it is decided: the literal host, or what `lookup` answers.
 */
export const offLoopback: string[] = [];
const LOOPBACK = "127.0.0.1";
export function installTripwire(): void {
  for (const mod of [net, tls] as const) {
    const real = mod.connect.bind(mod) as (...args: unknown[]) => net.Socket;
    const guarded = (options: unknown, ...rest: unknown[]) => {
      const o = typeof options === "object" && options !== null ? (options as Record<string, unknown>) : {};
      const host = String(o.host ?? options);
      if (typeof o.lookup === "function" && net.isIP(host) === 0) {
        return real({ ...o, lookup: guardLookup(o.lookup as net.LookupFunction) }, ...rest);
      }
      if (host !== LOOPBACK) {
        offLoopback.push(host);
        throw new Error(`tripwire: a test tried to connect to ${host}`);
      }
      return real(options, ...rest);
    };
    vi.spyOn(mod, "connect").mockImplementation(guarded as typeof mod.connect);
  }
}

const guardLookup =
  (lookup: net.LookupFunction): net.LookupFunction =>
  (hostname, options, callback) =>
    lookup(hostname, options, (err, address, family) => {
      const found = Array.isArray(address) ? address.map((a) => a.address) : [address];
      const bad = found.filter((a) => a !== LOOPBACK);
      if (err === null && bad.length > 0) {
        offLoopback.push(...bad);
        callback(new Error(`tripwire: ${hostname} was looked up as ${bad.join(", ")}`), "", 4);
        return;
      }
      callback(err, address, family);
    });

/** Names no test may resolve through real DNS. */
export const fakeDns = (table: Record<string, string[]>): Resolver & { calls: string[] } => {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const found = table[hostname];
    if (found === undefined)
      throw Object.assign(new Error(`no such host ${hostname}`), { code: "ENOTFOUND" });
    return found.map((address) => ({
      address,
      family: net.isIP(address) === 6 ? (6 as const) : (4 as const),
    }));
  };
  return Object.assign(resolve, { calls });
};
