/**
 * Two pollers (two worker processes) on one database: a completed task whose download outlasts
 * the poller's lease is taken up by the other poller, which downloads and stores it first. The
 * slower one must then leave the stored result alone (each download stores under a folder of its
 * own) and delete only its own download, never what the completed task points to.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createFsBlobStore } from "../../src/adapters/blobs/fs.js";
import { openSqlite } from "../../src/adapters/sqlite/db.js";
import { createSqlTaskStore } from "../../src/adapters/sqlite/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sqlite/upstream-store.js";
import { blobKeyFor, newAttemptDir, taskPrefixFor } from "../../src/core/blob_keys.js";
import { createChannelRouter } from "../../src/core/channels.js";
import type { Logger } from "../../src/core/ports.js";
import type { UpstreamProvider } from "../../src/core/upstream.js";
import { createUpstreamPoller, type ResultFinisher } from "../../src/core/upstream_poller.js";
import { sampleTask } from "../contract/job-queue.contract.js";

const silent: Logger = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

it("a result stored by another poller after this one's lease ran out is kept, not deleted", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-poller-"));
  const db = await openSqlite(join(dir, "data"));
  try {
    const tasks = createSqlTaskStore(db.kysely);
    const upstreamTasks = createSqlUpstreamTaskStore(db.kysely);
    const blobs = createFsBlobStore(join(dir, "blobs"));
    const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";
    await tasks.insert({ ...sampleTask(id), deadlineAt: Number.MAX_SAFE_INTEGER });
    await upstreamTasks.begin({
      taskId: id,
      channelId: "relay",
      now: 0,
      deadlineAt: Number.MAX_SAFE_INTEGER,
    });
    await upstreamTasks.accepted(id, { upstreamId: "up-1", status: "pending", nextPollAt: 0 });

    // The first download (poller A's) hangs until released; later ones answer at once.
    let downloads = 0;
    let releaseFirst = () => {};
    const firstReleased = new Promise<void>((r) => {
      releaseFirst = r;
    });
    const upstream: UpstreamProvider = {
      kind: "unified",
      idempotent: true,
      submit: () => Promise.reject(new Error("not used")),
      cancel: async () => {},
      poll: async () => ({
        status: {
          state: "completed",
          raw: "completed",
          known: true,
          progress: 100,
          error: null,
          enhancedPrompt: null,
        },
        retryAfterS: null,
      }),
      async fetchResult(_upstreamId, workDir) {
        if (++downloads === 1) await firstReleased;
        const videoPath = join(workDir, "upstream.mp4");
        await writeFile(videoPath, "the same video from the same upstream");
        return { videoPath, thumbnailPath: null, watermarked: null };
      },
    };
    const finisher: ResultFinisher = {
      async finish({ task, videoPath, workDir }) {
        const thumb = join(workDir, "thumb.jpg");
        await writeFile(thumb, "thumbnail");
        // As the real finisher: each download under a folder of its own.
        const attempt = newAttemptDir(Date.now());
        const videoKey = blobKeyFor(task.id, attempt, "video.mp4");
        const thumbnailKey = blobKeyFor(task.id, attempt, "thumbnail.jpg");
        const stored = await blobs.put(videoKey, videoPath, "video/mp4");
        await blobs.put(thumbnailKey, thumb, "image/jpeg");
        return {
          videoKey,
          thumbnailKey,
          spritesheetKey: null,
          width: 720,
          height: 1280,
          durationS: 10,
          bytes: stored.size,
          watermarked: false,
        };
      },
    };
    const router = createChannelRouter({
      channels: [
        {
          spec: {
            id: "relay",
            kind: "unified",
            priority: 0,
            weight: 1,
            maxConcurrent: 0,
            models: "*",
            pollIntervalMs: 1000,
            cooldown: { failures: 3, seconds: 60 },
          },
          upstream,
        },
      ],
      health: createSqlChannelHealthStore(db.kysely),
      upstreamTasks,
    });
    const leaseMs = 60_000;
    const pollerAt = (now: () => number, name: string) =>
      createUpstreamPoller({
        db,
        tasks,
        upstreamTasks,
        router,
        blobs,
        finisher,
        billing: null,
        clock: { now },
        logger: silent,
        telemetry: { providerCall: () => {} },
        settings: {
          batch: 50,
          concurrency: 4,
          fetchConcurrency: 1,
          leaseMs,
          idleMs: 20,
          maxBackoffMs: 1000,
          fetchAttempts: 5,
          scratchDir: join(dir, `scratch-${name}`),
        },
      });
    // Poller A leases the task and starts downloading it; B runs once A's lease has run out.
    const a = pollerAt(() => 1000, "a");
    const b = pollerAt(() => 1000 + leaseMs + 1, "b");
    a.start();
    await until("poller A downloading", () => downloads === 1);
    b.start();
    await until("poller B completing the task", async () => (await tasks.get(id))?.status === "completed");
    await b.stop();
    releaseFirst();
    // A finishes its download (its fake ignores the stop signal) and finds the task completed.
    await a.stop();
    expect(downloads).toBe(2);

    const task = await tasks.get(id);
    expect(task?.status).toBe("completed");
    const { videoKey, thumbnailKey } = task?.result ?? { videoKey: "", thumbnailKey: "" };
    expect(videoKey.startsWith(taskPrefixFor(id))).toBe(true);
    expect(await blobs.stat(videoKey)).toBeDefined();
    expect(await blobs.stat(thumbnailKey)).toBeDefined();
    // A's download, under its own folder, is gone: only B's folder is left.
    expect(await readdir(join(dir, "blobs", taskPrefixFor(id)))).toHaveLength(1);
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
});
