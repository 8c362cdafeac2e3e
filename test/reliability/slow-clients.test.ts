/** Clients that are slow or too big: cut off early, and the server keeps serving others. */
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp({
    env: { REELAY_REQUEST_TIMEOUT_MS: "1000" },
    overrides: { provider: new FakeProvider() },
  });
  key = await app.newKey();
});
afterAll(() => app.close());

/** Opens a raw connection and trickles `bytes` one at a time; resolves when the server closes it. */
function trickle(
  bytes: string,
  everyMs: number,
  maxMs: number,
): Promise<{ closedBy: "server" | "test"; reply: string }> {
  return new Promise((resolve) => {
    const { port } = new URL(app.url);
    const sock = connect(Number(port), "127.0.0.1");
    let reply = "";
    let i = 0;
    const timer = setInterval(() => {
      if (i < bytes.length) sock.write(bytes[i++] ?? "");
    }, everyMs);
    const giveUp = setTimeout(() => {
      clearInterval(timer);
      sock.destroy();
      resolve({ closedBy: "test", reply });
    }, maxMs);
    sock.on("data", (d) => {
      reply += d.toString();
    });
    sock.on("close", () => {
      clearInterval(timer);
      clearTimeout(giveUp);
      resolve({ closedBy: "server", reply });
    });
    sock.on("error", () => undefined);
  });
}

it("a slow-loris client that never finishes its headers is cut off", async () => {
  const headers = `GET /healthz HTTP/1.1\r\nHost: x\r\n${"X-Slow: y\r\n".repeat(200)}`;
  const r = await trickle(headers, 100, 20_000);
  expect(r.closedBy).toBe("server");
  // Meanwhile others are served.
  expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
});

it("a body that trickles in slower than the request timeout is cut off", async () => {
  const body = JSON.stringify({ prompt: "x".repeat(300) });
  const head = `POST /v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
  const r = await trickle(head + body, 20, 20_000);
  expect(r.closedBy).toBe("server");
  // Told why, in the envelope.
  expect(r.reply).toMatch(/^HTTP\/1\.1 408/);
  expect(r.reply).toContain('"code":"request_timeout"');
});

it("an oversized body is refused from its Content-Length, before it is sent", async () => {
  const { port } = new URL(app.url);
  const reply = await new Promise<string>((resolve) => {
    const sock = connect(Number(port), "127.0.0.1");
    let out = "";
    sock.on("data", (d) => {
      out += d.toString();
    });
    sock.on("close", () => resolve(out));
    sock.on("error", () => resolve(out));
    // Announce 50 MB, send only the headers.
    sock.write(
      `POST /v1/video/create HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\nConnection: close\r\n\r\n{`,
    );
    setTimeout(() => sock.end(), 5000);
  });
  expect(reply).toMatch(/^HTTP\/1\.1 413/);
  expect(reply).toContain("payload_too_large");
  expect(reply).toContain("larger than 33554432 bytes");
});
