/**
 * SSRF cases of webhook URLs. Traffic only ever goes to loopback: host names resolve through a fake
 * DNS, and a tripwire on net/tls.connect fails the test if any connection heads anywhere else.
 * Both the registration check and the delivery itself go through the guard (the host may resolve
 * elsewhere by the time a delivery is sent).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Resolver } from "../../src/adapters/net/guard.js";
import { createWebhookSender } from "../../src/adapters/webhooks/sender.js";
import { newWebhookSecret } from "../../src/core/webhooks/webhooks.js";
import { fakeDns, installTripwire, offLoopback } from "../helpers/tripwire.js";

let server: Server;
let port = 0;
const hits: { path: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      hits.push({ path: req.url ?? "", headers: req.headers, body });
      if (req.url === "/redirect") {
        res.writeHead(302, { location: "http://10.0.0.5/steal" }).end();
      } else if (req.url === "/slow") {
        // Never answers: the attempt's timeout must end it.
      } else if (req.url === "/gone") {
        res.writeHead(410).end();
      } else {
        res.writeHead(204).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  installTripwire();
});

afterAll(async () => {
  vi.restoreAllMocks();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  expect(offLoopback).toEqual([]);
});

const sender = (o: { resolve?: Resolver; allow?: string[]; timeoutMs?: number } = {}) =>
  createWebhookSender({
    allowHosts: o.allow ?? [`127.0.0.1:${port}`],
    timeoutMs: o.timeoutMs ?? 5_000,
    userAgent: "test",
    resolve: o.resolve ?? fakeDns({}),
  });

const message = (url: string, secret = newWebhookSecret()) => ({
  url,
  secret,
  id: "evt_test",
  timestamp: new Date(),
  body: JSON.stringify({ type: "video.completed", timestamp: new Date().toISOString(), data: {} }),
});

const signal = () => new AbortController().signal;

describe("webhook URLs through the SSRF guard", () => {
  it.each([
    ["private.test", ["10.0.0.5"], /10\.0\.0\.5, a private/],
    ["metadata.test", ["169.254.169.254"], /169\.254\.169\.254, a link-local/],
    ["gce-metadata.test", ["fd00:ec2::254"], /unique local/],
    ["mixed.test", ["93.184.216.34", "192.168.1.10"], /192\.168\.1\.10, a private/],
    ["cgnat.test", ["100.64.0.1"], /carrier-grade NAT/],
    ["mapped.test", ["::ffff:127.0.0.1"], /IPv4-mapped loopback/],
    ["zero.test", ["0.0.0.0"], /unspecified/],
    ["loop.test", ["127.0.0.1"], /loopback/],
  ])(
    "refuses %s resolving to %j, at registration and at delivery, without connecting",
    async (host, addrs, why) => {
      const resolve = fakeDns({ [host]: addrs });
      const s = sender({ resolve });
      expect(await s.check(`https://${host}/hook`)).toMatch(why);
      const before = hits.length;
      const r = await s.send(message(`https://${host}/hook`), signal());
      expect(r).toMatchObject({ ok: false, statusCode: null });
      expect(r.error).toMatch(why);
      expect(resolve.calls).toEqual([host, host]);
      expect(hits.length).toBe(before);
      expect(offLoopback).toEqual([]);
    },
  );

  it.each([
    ["http://10.1.2.3/x", /private/],
    ["http://169.254.169.254/latest/meta-data/", /link-local/],
    ["http://[::1]/x", /loopback/],
    ["http://[fe80::1]/x", /link-local/],
    [`http://127.0.0.1:${9}/x`, /loopback/],
    ["file:///etc/passwd", /only http and https/],
    ["http://u:p@example.test/x", /credentials/],
    ["nonsense", /not a valid URL/],
  ])("refuses %s without resolving or connecting", async (url, why) => {
    const resolve = fakeDns({});
    expect(await sender({ resolve }).check(url)).toMatch(why);
    expect((await sender({ resolve }).send(message(url), signal())).error).toMatch(why);
    expect(resolve.calls).toEqual([]);
  });

  it("says so when a host does not resolve", async () => {
    expect(await sender().check("https://nowhere.test/x")).toMatch(/not found/);
  });

  it("delivers to an allow-listed loopback receiver, signed so that the standardwebhooks library verifies it", async () => {
    const secret = newWebhookSecret();
    const msg = message(`http://127.0.0.1:${port}/ok`, secret);
    const r = await sender().send(msg, signal());
    expect(r).toMatchObject({ ok: true, statusCode: 204, error: null, permanent: false });
    const hit = hits.at(-1);
    expect(hit?.path).toBe("/ok");
    expect(hit?.body).toBe(msg.body);
    expect(hit?.headers["webhook-id"]).toBe("evt_test");
    expect(() =>
      new Webhook(secret).verify(hit?.body ?? "", hit?.headers as Record<string, string>),
    ).not.toThrow();
    expect(() =>
      new Webhook(newWebhookSecret()).verify(hit?.body ?? "", hit?.headers as Record<string, string>),
    ).toThrow();
  });

  it("connects to the address it checked: a name allow-listed by host:port resolves once", async () => {
    let answers = 0;
    const resolve: Resolver = async () => [
      { address: answers++ === 0 ? "127.0.0.1" : "10.0.0.5", family: 4 },
    ];
    const r = await sender({ resolve, allow: [`hooks.test:${port}`] }).send(
      message(`http://hooks.test:${port}/ok`),
      signal(),
    );
    expect(r.ok).toBe(true);
    expect(answers).toBe(1);
    expect(hits.at(-1)?.headers.host).toBe(`hooks.test:${port}`);
  });

  it("does not follow a redirect (it counts as a failed attempt)", async () => {
    const r = await sender().send(message(`http://127.0.0.1:${port}/redirect`), signal());
    expect(r).toMatchObject({ ok: false, statusCode: 302, permanent: false });
    expect(hits.some((h) => h.path === "/steal")).toBe(false);
    expect(offLoopback).toEqual([]);
  });

  it("treats 410 Gone as final", async () => {
    expect(await sender().send(message(`http://127.0.0.1:${port}/gone`), signal())).toMatchObject({
      ok: false,
      statusCode: 410,
      permanent: true,
    });
  });

  it("ends an attempt the receiver never answers at the timeout", async () => {
    const r = await sender({ timeoutMs: 300 }).send(message(`http://127.0.0.1:${port}/slow`), signal());
    expect(r).toMatchObject({ ok: false, statusCode: null, permanent: false });
    expect(r.error).toMatch(/timed out after 300 ms/);
  });
});
