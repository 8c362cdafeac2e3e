/**
 * Storage cut while tasks run, in the scale-out setup (PostgreSQL + pg-boss, results in S3):
 * the S3 server (s3rver) is stopped mid-way through 20 renders, for 10 s or until a render met
 * the outage, and restarted on the same port with the same files. Renders that finish meanwhile cannot store their video: they
 * must wait and retry, never fail. Meanwhile downloads answer 503 with Retry-After in the error
 * envelope, and /readyz says not ready; after, everything completes and every link serves its MP4.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { s3Env, startTestS3, type TestS3 } from "../helpers/s3.js";
import { sleep, waitUntil } from "../helpers/wait.js";

const TASKS = 20;
const OUTAGE_MS = 10_000;

let s3: TestS3;
let database: TestDatabase;
let dir = "";
beforeAll(async () => {
  [s3, database, dir] = await Promise.all([
    startTestS3(),
    createTestDatabase(),
    mkdtemp(join(tmpdir(), "reelay-outage-")),
  ]);
});
afterAll(async () => {
  await s3?.close();
  await database?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function saveAndProbe(url: string, name: string) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  const file = join(dir, name);
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  return ffprobe(file);
}

it("a 10 s storage outage fails no task; downloads answer 503 + Retry-After and /readyz is 503 meanwhile", async () => {
  const configFile = join(dir, "reelay.json");
  await writeFile(
    configFile,
    JSON.stringify({
      models: [{ name: "tiny", family: "sora-2", sizes: ["small"], durations: [1], maxImages: 0 }],
    }),
  );
  let app: TestApp | undefined;
  try {
    app = await startTestApp({
      env: {
        REELAY_DATABASE_URL: database.url,
        REELAY_SIGNING_SECRET: "outage-test-signing-secret-0123456789abcdef",
        REELAY_CONFIG_FILE: configFile,
        // Streamed by Reelay: a download touches the bucket through this process.
        ...s3Env(s3, "proxy"),
        REELAY_WORKER_CONCURRENCY: "2",
        REELAY_RETRY_BASE_MS: "500",
        REELAY_RETRY_MAX_MS: "2000",
      },
    });
    const a = app;
    const key = await a.newKey();
    const create = async (i: number) => {
      const res = await a.request("/v1/video/create", {
        key,
        body: { model: "tiny", prompt: `outage ${i}`, orientation: "portrait", size: "small", duration: 1 },
      });
      expect(res.status).toBe(200);
      return ((await res.json()) as { id: string }).id;
    };
    const query = async (id: string) => {
      const res = await a.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key });
      return (await res.json()) as {
        status: string;
        detail: { pending_info: { failure_reason: string | null } };
      };
    };

    // A finished video, to download while the storage is away.
    const first = await waitForTask(a, key, await create(-1));
    expect(first.status).toBe("completed");
    const firstUrl = String(first.video_url);
    expect((await a.request("/readyz")).status).toBe(200);

    const ids = await Promise.all(Array.from({ length: TASKS }, (_, i) => create(i)));
    await waitUntil(async () => (await Promise.all(ids.map(query))).some((t) => t.status === "completed"), {
      what: "a first render of the batch",
      timeoutMs: 60_000,
    });

    await s3.stop();
    const cutAt = Date.now();
    // Attempts that met the outage go back to pending and say why.
    const metOutage = new Set<string>();
    try {
      await waitUntil(
        async () => {
          const r = await a.request("/readyz");
          return r.status === 503 && ((await r.json()) as { storage?: string }).storage === "unavailable";
        },
        { what: "/readyz to report the storage", timeoutMs: 60_000 },
      );
      const download = await fetch(firstUrl);
      expect(download.status).toBe(503);
      expect(Number(download.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await download.json()).toMatchObject({
        error: { code: "storage_unavailable", type: "server_error" },
      });
      // At least 10 s, and until a render met the outage (renders are slow on a busy machine).
      const metOne = () => metOutage.size > 0 || Date.now() - cutAt > 120_000;
      while (Date.now() - cutAt < OUTAGE_MS || !metOne()) {
        for (const [i, t] of (await Promise.all(ids.map(query))).entries()) {
          expect(t.status).not.toBe("failed");
          if (t.detail.pending_info.failure_reason?.includes("Storage is unavailable"))
            metOutage.add(ids[i] as string);
        }
        await sleep(250);
      }
    } finally {
      await s3.restart();
    }
    // Not vacuous: renders did finish during the outage and could not store their video.
    expect(metOutage.size).toBeGreaterThan(0);

    await waitUntil(async () => (await a.request("/readyz")).status === 200, {
      what: "/readyz to be ready again",
      timeoutMs: 60_000,
    });
    const done = await Promise.all(ids.map((id) => waitForTask(a, key, id, { timeoutMs: 180_000 })));
    expect(done.map((t) => t.status)).toEqual(Array(TASKS).fill("completed"));

    expect((await saveAndProbe(firstUrl, "first.mp4")).durationS).toBeGreaterThan(0.5);
    const hit = done.find((t) => metOutage.has(String(t.id)));
    const probed = await saveAndProbe(String(hit?.video_url), "after.mp4");
    expect(probed.streams.find((s) => s.codecType === "video")).toBeDefined();
  } finally {
    await app?.close();
  }
}, 300_000);
