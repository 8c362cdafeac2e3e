/** Signed result links: downloads, Range requests, expiry and tampering. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FAKE_VIDEO, FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";

let app: TestApp;
let videoUrl: string;
let thumbUrl: string;
let key: string;
let id: string;
let offsetMs = 0;

beforeAll(async () => {
  app = await startTestApp({
    overrides: { provider: new FakeProvider(), clock: { now: () => Date.now() + offsetMs } },
  });
  key = await app.newKey();
  const res = await app.request("/v1/video/create", { key, body: SEED_BODY });
  id = ((await res.json()) as { id: string }).id;
  const task = await waitForTask(app, key, id, { timeoutMs: 50_000 });
  videoUrl = String(task.video_url);
  thumbUrl = String(task.thumbnail_url);
});
afterAll(() => app.close());

describe("signed result links", () => {
  it("are absolute links under REELAY_PUBLIC_URL", () => {
    expect(videoUrl.startsWith(`${app.url}/files/`)).toBe(true);
    expect(videoUrl).toMatch(/[?&]exp=\d+&sig=[A-Za-z0-9_-]+$/);
  });

  it("serve the whole file with its content type and Accept-Ranges", async () => {
    const res = await fetch(videoUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("video/mp4");
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(res.headers.get("content-length")).toBe(String(FAKE_VIDEO.length));
    expect(Buffer.from(await res.arrayBuffer()).equals(FAKE_VIDEO)).toBe(true);
    const thumb = await fetch(thumbUrl);
    expect(thumb.headers.get("content-type")).toBe("image/jpeg");
    expect(Buffer.from(await thumb.arrayBuffer()).toString()).toBe("thumb");
  });

  it.each([
    ["bytes=100-199", 100, 199],
    ["bytes=4000-", 4000, FAKE_VIDEO.length - 1],
    ["bytes=-10", FAKE_VIDEO.length - 10, FAKE_VIDEO.length - 1],
    ["bytes=0-0", 0, 0],
    ["bytes=4090-99999", 4090, FAKE_VIDEO.length - 1],
  ])("Range %s → 206 with exactly those bytes", async (range, start, end) => {
    const res = await fetch(videoUrl, { headers: { range } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-range")).toBe(`bytes ${start}-${end}/${FAKE_VIDEO.length}`);
    expect(res.headers.get("content-length")).toBe(String(end - start + 1));
    expect(Buffer.from(await res.arrayBuffer()).equals(FAKE_VIDEO.subarray(start, end + 1))).toBe(true);
  });

  it("a range past the end → 416 with the size", async () => {
    const res = await fetch(videoUrl, { headers: { range: "bytes=5000-6000" } });
    expect(res.status).toBe(416);
    expect(res.headers.get("content-range")).toBe(`bytes */${FAKE_VIDEO.length}`);
  });

  it("a malformed Range is ignored: the whole file", async () => {
    const res = await fetch(videoUrl, { headers: { range: "bytes=abc" } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(FAKE_VIDEO.length);
  });

  it("HEAD answers the headers without a body", async () => {
    const res = await fetch(videoUrl, { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(FAKE_VIDEO.length));
  });

  it.each([
    [
      "a changed signature",
      (u: URL) => u.searchParams.set("sig", `${u.searchParams.get("sig")?.slice(0, -2)}AA`),
    ],
    [
      "a later expiry",
      (u: URL) => u.searchParams.set("exp", String(Number(u.searchParams.get("exp")) + 3600)),
    ],
    ["another file's path", (u: URL) => (u.pathname = u.pathname.replace("video.mp4", "thumbnail.jpg"))],
    ["no signature", (u: URL) => u.searchParams.delete("sig")],
  ])("a link with %s → 403", async (_n, tamper) => {
    const u = new URL(videoUrl);
    tamper(u);
    const res = await fetch(u);
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("link_invalid");
  });

  it("an expired link → 403 link_expired; querying again gives a fresh one", async () => {
    offsetMs = (app.config.linkTtlS + 60) * 1000;
    try {
      const res = await fetch(videoUrl);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("link_expired");
      const task = await waitForTask(app, key, id);
      const fresh = await fetch(String(task.video_url));
      expect(fresh.status).toBe(200);
      expect((await fresh.arrayBuffer()).byteLength).toBe(FAKE_VIDEO.length);
    } finally {
      offsetMs = 0;
    }
  });
});
