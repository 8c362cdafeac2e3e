import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { classifyAddress, createImageFetcher, type Resolver } from "../../src/adapters/net/safe-fetch.js";
import { isReelayError, type ReelayError } from "../../src/core/errors.js";
import { type ImageServer, startImageServer } from "../helpers/image-server.js";
import { fakeDns, installTripwire, offLoopback } from "../helpers/tripwire.js";

async function failure(p: Promise<unknown>): Promise<ReelayError> {
  try {
    await p;
  } catch (e) {
    if (isReelayError(e)) return e;
    throw e;
  }
  throw new Error("expected the fetch to fail");
}

describe("classifyAddress", () => {
  const table: [string, RegExp][] = [
    ["127.0.0.1", /^loopback/],
    ["::1", /^loopback/],
    ["10.1.2.3", /^private/],
    ["172.16.0.1", /^private/],
    ["192.168.1.1", /^private/],
    ["169.254.169.254", /^link-local/],
    ["fe80::1", /^link-local/],
    ["100.64.0.1", /^carrier-grade NAT/],
    ["fd00::1", /^unique local/],
    ["::ffff:10.0.0.1", /^IPv4-mapped private/],
    ["::ffff:127.0.0.1", /^IPv4-mapped loopback/],
    ["64:ff9b::a00:1", /^NAT64 private/],
    ["::a00:1", /^IPv4-compatible/],
    ["0.0.0.0", /^unspecified/],
    ["::", /^unspecified/],
    ["224.0.0.1", /^multicast/],
    ["255.255.255.255", /^broadcast/],
    ["240.0.0.1", /^reserved/],
    ["not-an-ip", /not a valid IP address/],
  ];
  it.each(table)("refuses %s", (address, expected) => {
    expect(classifyAddress(address)).toMatch(expected);
  });

  it.each(["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])("allows %s", (address) => {
    expect(classifyAddress(address)).toBe("public");
  });
});

describe("createImageFetcher", () => {
  let server: ImageServer;
  let dir: string;
  let n = 0;
  const dest = () => join(dir, `img-${n++}`);
  const signal = () => new AbortController().signal;
  const fetcher = (o: { allow?: boolean; resolve?: Resolver; maxBytes?: number; timeoutMs?: number } = {}) =>
    createImageFetcher({
      allowHosts: o.allow === false ? [] : [server.host],
      maxBytes: o.maxBytes ?? 4 * 1024 * 1024,
      timeoutMs: o.timeoutMs ?? 10_000,
      maxRedirects: 3,
      resolve: o.resolve ?? fakeDns({}),
    });

  beforeAll(async () => {
    server = await startImageServer();
    dir = await mkdtemp(join(tmpdir(), "reelay-fetch-"));
    installTripwire();
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await server.close();
    await rm(dir, { recursive: true, force: true });
    expect(offLoopback).toEqual([]);
  });

  it("downloads an image from an allow-listed host", async () => {
    const path = dest();
    const got = await fetcher().fetchTo(`${server.url}/a.png`, path, { index: 0, signal: signal() });
    expect(got.contentType).toBe("image/png");
    expect((await stat(path)).size).toBe(got.bytes);
    expect((await readFile(path)).subarray(1, 4).toString()).toBe("PNG");
  });

  it("follows a redirect on an allowed host", async () => {
    const got = await fetcher().fetchTo(`${server.url}/redirect-to-a`, dest(), {
      index: 0,
      signal: signal(),
    });
    expect(got.contentType).toBe("image/png");
  });

  it("connects to the address it checked, resolving each host once (no DNS rebinding)", async () => {
    // First answer loopback (allowed below), then a private address: a second lookup would be caught.
    let answers = 0;
    const resolve: Resolver = async () => [
      { address: answers++ === 0 ? "127.0.0.1" : "10.0.0.5", family: 4 },
    ];
    const port = server.host.split(":")[1];
    const f = createImageFetcher({
      allowHosts: [`images.test:${port}`],
      maxBytes: 4 * 1024 * 1024,
      timeoutMs: 10_000,
      maxRedirects: 3,
      resolve,
    });
    const got = await f.fetchTo(`http://images.test:${port}/b.png`, dest(), { index: 0, signal: signal() });
    expect(got.bytes).toBeGreaterThan(0);
    expect(answers).toBe(1);
  });

  it("refuses loopback when the host is not allow-listed, without connecting", async () => {
    const before = server.hits.get("/a.png") ?? 0;
    const e = await failure(
      fetcher({ allow: false }).fetchTo(`${server.url}/a.png`, dest(), { index: 2, signal: signal() }),
    );
    expect(e).toMatchObject({ code: "image_refused", retryable: false, param: "images[2]" });
    expect(e.message).toMatch(/127\.0\.0\.1.*loopback/);
    expect(server.hits.get("/a.png") ?? 0).toBe(before);
  });

  it.each([
    ["evil.test", ["10.0.0.5"], /10\.0\.0\.5, a private/],
    ["metadata.test", ["169.254.169.254"], /169\.254\.169\.254, a link-local/],
    ["mixed.test", ["93.184.216.34", "192.168.1.10"], /192\.168\.1\.10, a private/],
    ["v6.test", ["fd12::5"], /unique local/],
  ])("refuses %s resolving to %j before connecting", async (host, addresses, message) => {
    const resolve = fakeDns({ [host]: addresses });
    const e = await failure(
      fetcher({ resolve, allow: false }).fetchTo(`http://${host}/x.png`, dest(), {
        index: 0,
        signal: signal(),
      }),
    );
    expect(e).toMatchObject({ code: "image_refused", retryable: false });
    expect(e.message).toMatch(message);
    expect(resolve.calls).toEqual([host]);
    expect(offLoopback).toEqual([]);
  });

  it.each(["file:///etc/passwd", "ftp://127.0.0.1/a.png", "not a url", "http://user:pw@127.0.0.1/a.png"])(
    "refuses %s",
    async (url) => {
      const e = await failure(fetcher().fetchTo(url, dest(), { index: 0, signal: signal() }));
      expect(e).toMatchObject({ code: "image_refused", retryable: false });
    },
  );

  it("refuses a redirect to a private address", async () => {
    const e = await failure(
      fetcher().fetchTo(`${server.url}/redirect-to-private`, dest(), { index: 1, signal: signal() }),
    );
    expect(e).toMatchObject({ code: "image_refused", param: "images[1]" });
    expect(e.message).toMatch(/10\.0\.0\.1, a private/);
    expect(offLoopback).toEqual([]);
  });

  it("gives up on a redirect loop", async () => {
    const e = await failure(
      fetcher().fetchTo(`${server.url}/redirect-loop`, dest(), { index: 0, signal: signal() }),
    );
    expect(e).toMatchObject({ code: "image_fetch_failed", retryable: false });
    expect(e.message).toMatch(/too many redirects/);
  });

  it.each(["/huge", "/huge-declared"])("stops %s at the size limit and leaves no file", async (route) => {
    const path = dest();
    const e = await failure(
      fetcher({ maxBytes: 1024 * 1024 }).fetchTo(`${server.url}${route}`, path, {
        index: 0,
        signal: signal(),
      }),
    );
    expect(e).toMatchObject({ code: "image_fetch_failed", retryable: false });
    expect(e.message).toMatch(/larger than 1048576 bytes/);
    expect(existsSync(path)).toBe(false);
  });

  it("refuses a response that is not an image, naming its type", async () => {
    const e = await failure(fetcher().fetchTo(`${server.url}/html`, dest(), { index: 0, signal: signal() }));
    expect(e).toMatchObject({ code: "image_fetch_failed", retryable: false });
    expect(e.message).toMatch(/text\/html/);
  });

  it.each([
    ["/404", false],
    ["/500", true],
  ])("maps %s to retryable=%s", async (route, retryable) => {
    const e = await failure(
      fetcher().fetchTo(`${server.url}${route}`, dest(), { index: 0, signal: signal() }),
    );
    expect(e).toMatchObject({ code: "image_fetch_failed", retryable });
    expect(e.message).toMatch(new RegExp(`HTTP ${route.slice(1)}`));
  });

  it("times out a server that never answers, retryably", async () => {
    const e = await failure(
      fetcher({ timeoutMs: 300 }).fetchTo(`${server.url}/never`, dest(), { index: 0, signal: signal() }),
    );
    expect(e).toMatchObject({ code: "image_fetch_failed", retryable: true });
    expect(e.message).toMatch(/timed out after 300 ms/);
  });

  it("rethrows the caller's abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error("task cancelled");
    const p = fetcher().fetchTo(`${server.url}/never`, dest(), { index: 0, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 50);
    await expect(p).rejects.toBe(reason);
  });
});
