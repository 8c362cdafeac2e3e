/**
 * SSRF cases of image links, through the HTTP API: a create whose link the guard would refuse is a
 * 400 naming the image and the reason, before any task exists. Host names resolve through a fake
 * DNS; a tripwire on net/tls.connect fails the test if any connection heads off loopback.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { fakeDns, installTripwire, offLoopback } from "../helpers/tripwire.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  installTripwire();
  app = await startTestApp({
    overrides: {
      resolve: fakeDns({
        "metadata.internal": ["169.254.169.254"],
        "intranet.example": ["10.1.2.3"],
        "rebind.example": ["192.168.1.20"],
        "v6-local.example": ["fe80::1"],
        "cgnat.example": ["100.64.0.9"],
      }),
    },
  });
  key = await app.newKey();
});
afterAll(async () => {
  await app.close();
  vi.restoreAllMocks();
  expect(offLoopback).toEqual([]);
});

const create = (images: string[]) =>
  app.request("/v1/video/create", {
    key,
    body: { model: "sora-2", prompt: "ssrf", orientation: "portrait", size: "small", duration: 10, images },
  });

describe("image links refused at create", () => {
  it.each([
    [["http://metadata.internal/latest/meta-data/"], "images[0]", "link-local"],
    [["https://intranet.example/a.png"], "images[0]", "private"],
    [["http://127.0.0.1:9/a.png"], "images[0]", "loopback"],
    [["http://[::1]/a.png"], "images[0]", "loopback"],
    [["http://169.254.169.254/latest/meta-data/iam"], "images[0]", "link-local"],
    [["http://v6-local.example/a.png"], "images[0]", "link-local"],
    [["http://cgnat.example/a.png"], "images[0]", "carrier-grade NAT"],
    [["https://rebind.example/ok.png", "http://0.0.0.0/a.png"], "images[0]", "private"],
  ])("%o → 400 on %s (%s)", async (images, param, reason) => {
    const res = await create(images);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(error.code).toBe("image_refused");
    expect(error.param).toBe(param);
    expect(error.message).toContain(reason);
  });

  it.each([
    [["ftp://files.example/a.png"], "http or https"],
    [["http://user:pw@files.example/a.png"], "credentials"],
  ])("%o → 400 on images[0] (%s), from the request check", async (images, reason) => {
    const res = await create(images);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { param: string; message: string } };
    expect(error.param).toBe("images[0]");
    expect(error.message).toContain(reason);
  });

  it("names the second image when only it is refused; nothing is created", async () => {
    const before = (await (await app.request("/v1/video/list", { key })).json()) as { data: unknown[] };
    const res = await create(["https://cdn.example/fine.png", "http://10.0.0.7/x.png"]);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe("images[1]");
    const after = (await (await app.request("/v1/video/list", { key })).json()) as { data: unknown[] };
    expect(after.data.length).toBe(before.data.length);
  });
});
