/**
 * Results in an S3-compatible bucket (s3rver, started here), through the HTTP API: the video a
 * task makes is uploaded to the bucket, and its signed link either redirects to a presigned URL
 * or is streamed by Reelay with Range support. The redirect case runs on PostgreSQL + pg-boss
 * (the scale-out setup), the proxy case on the embedded database.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, waitForTask } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { s3Env, startTestS3, type TestS3 } from "../helpers/s3.js";

let s3: TestS3;
let database: TestDatabase;
let dir = "";
beforeAll(async () => {
  [s3, database, dir] = await Promise.all([
    startTestS3(),
    createTestDatabase(),
    mkdtemp(join(tmpdir(), "reelay-s3-e2e-")),
  ]);
});
afterAll(async () => {
  await s3?.close();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bucketEnv = (delivery: "proxy" | "redirect") => s3Env(s3, delivery, `${delivery}/`);

async function makeVideo(env: Record<string, string>) {
  const app = await startTestApp({ env });
  const key = await app.newKey();
  const created = await app.request("/v1/video/create", {
    key,
    body: { model: "sora-2", prompt: "a bucket", orientation: "landscape", size: "small", duration: 10 },
  });
  expect(created.status).toBe(200);
  const { id } = (await created.json()) as { id: string };
  const done = await waitForTask(app, key, id);
  expect(done.status).toBe("completed");
  return { app, url: String(done.video_url) };
}

it("redirect delivery (on PostgreSQL): the link answers 302 to a presigned URL that serves the MP4", async () => {
  const { app, url } = await makeVideo({
    ...bucketEnv("redirect"),
    REELAY_DATABASE_URL: database.url,
    REELAY_SIGNING_SECRET: "s3-test-signing-secret-0123456789abcdef",
  });
  try {
    const res = await fetch(url, { redirect: "manual" });
    expect(res.status).toBe(302);
    const location = String(res.headers.get("location"));
    expect(location.startsWith(`${s3.endpoint}/${s3.bucket}/redirect/tasks/`)).toBe(true);
    expect(new URL(location).searchParams.get("X-Amz-Expires")).toBe("300");
    const video = await fetch(location);
    expect(video.status).toBe(200);
    const file = join(dir, "redirect.mp4");
    await writeFile(file, Buffer.from(await video.arrayBuffer()));
    const info = await ffprobe(file);
    expect(info.streams.find((s) => s.codecType === "video")).toMatchObject({ width: 1280, height: 720 });
    // A bad signature on Reelay's own link is still refused before any redirect.
    const bad = new URL(url);
    bad.searchParams.set("sig", "x".repeat(43));
    expect((await fetch(bad, { redirect: "manual" })).status).toBe(403);
  } finally {
    await app.close();
  }
});

it("proxy delivery: Reelay streams the object from the bucket, with Range", async () => {
  const { app, url } = await makeVideo(bucketEnv("proxy"));
  try {
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("video/mp4");
    const bytes = Buffer.from(await whole.arrayBuffer());
    expect(Number(whole.headers.get("content-length"))).toBe(bytes.length);
    const part = await fetch(url, { headers: { range: "bytes=100-199" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    const file = join(dir, "proxy.mp4");
    await writeFile(file, bytes);
    expect((await ffprobe(file)).durationS).toBeGreaterThan(9);
  } finally {
    await app.close();
  }
});
