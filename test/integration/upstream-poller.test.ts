/**
 * The upstream poller against a real store, on SQLite and on PostgreSQL (the scale-out store has
 * column types SQLite does not enforce). Upstreams are in-process fakes of the UpstreamProvider
 * port: what is tested here is the poller's bookkeeping (leases, backoff, error counts), not HTTP.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { createFsBlobStore } from "../../src/adapters/blobs/fs.js";
import { openPostgres } from "../../src/adapters/sql/postgres/db.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";
import { createSqlTaskStore } from "../../src/adapters/sql/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sql/upstream-store.js";
import { errors } from "../../src/core/errors.js";
import { blobKeyFor, newAttemptDir, taskPrefixFor } from "../../src/core/media/blob_keys.js";
import type { BlobStore } from "../../src/core/media/ports.js";
import type { Database, Logger } from "../../src/core/ports.js";
import { createTaskLifecycle } from "../../src/core/tasks/lifecycle.js";
import { createChannelRouter } from "../../src/core/upstream/channels.js";
import {
  createUpstreamPoller,
  type PollerSettings,
  type ResultFinisher,
} from "../../src/core/upstream/poller.js";
import type { UpstreamProvider, UpstreamStatus, UpstreamTaskStore } from "../../src/core/upstream/ports.js";
import { sampleTask } from "../contract/job-queue.contract.js";
import { createTestDatabase } from "../helpers/postgres.js";

const silent: Logger = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };

async function until(what: string, ok: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const status = (state: UpstreamStatus["state"]): UpstreamStatus => ({
  state,
  raw: state,
  known: true,
  progress: state === "completed" ? 100 : 50,
  error: null,
  enhancedPrompt: null,
});

/** An upstream whose poll and download do what the test says; submit is never used here. */
function fakeUpstream(over: Pick<UpstreamProvider, "poll"> & Partial<UpstreamProvider>): UpstreamProvider {
  return {
    kind: "unified",
    idempotent: true,
    submit: () => Promise.reject(new Error("not used")),
    cancel: async () => {},
    fetchResult: () => Promise.reject(new Error("not used")),
    ...over,
  };
}

/** An upstream whose every task has finished; the first download hangs until `releaseFirst()`. */
function finishedUpstream(content: string) {
  const state = { downloads: 0, releaseFirst: () => {} };
  const firstReleased = new Promise<void>((r) => {
    state.releaseFirst = r;
  });
  const upstream = fakeUpstream({
    poll: async () => ({ status: status("completed"), retryAfterS: null }),
    async fetchResult(_upstreamId, workDir) {
      if (++state.downloads === 1) await firstReleased;
      const videoPath = join(workDir, "upstream.mp4");
      await writeFile(videoPath, content);
      return { videoPath, thumbnailPath: null, watermarked: null };
    },
  });
  return { state, upstream };
}

/** Stores the downloaded file as the task's video, with a made-up thumbnail and probe. */
const storingFinisher = (blobs: BlobStore): ResultFinisher => ({
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
});

interface Backend {
  readonly name: string;
  open(dir: string): Promise<{ db: Database & { kysely: Parameters<typeof createSqlTaskStore>[0] } }>;
}

const backends: Backend[] = [
  { name: "sqlite", open: async (dir) => ({ db: await openSqlite(join(dir, "data")) }) },
  {
    name: "postgres",
    async open() {
      const database = await createTestDatabase();
      const db = await openPostgres({ url: database.url, poolSize: 10 });
      return {
        db: {
          ...db,
          async close() {
            await db.close();
            await database.drop();
          },
        },
      };
    },
  },
];

const taskId = (i: number) => `sora-2:task_01k9009g8ef1esae6388chgc${String(i).padStart(2, "0")}`;

/** A store with `count` tasks accepted by the channel `relay` and due at 0, and a poller factory. */
async function fixture(
  backend: Backend,
  upstream: UpstreamProvider,
  opts: {
    count?: number;
    pollIntervalMs?: number;
    /** Wraps the store the poller writes to (to inject a store fault). */
    wrap?: (s: UpstreamTaskStore) => UpstreamTaskStore;
  } = {},
) {
  const dir = await mkdtemp(join(tmpdir(), "reelay-poller-"));
  const { db } = await backend.open(dir);
  const tasks = createSqlTaskStore(db.kysely);
  const upstreamTasks = createSqlUpstreamTaskStore(db.kysely);
  const blobs = createFsBlobStore(join(dir, "blobs"));
  const ids = Array.from({ length: opts.count ?? 1 }, (_, i) => taskId(i));
  for (const [i, id] of ids.entries()) {
    await tasks.insert({ ...sampleTask(id), deadlineAt: Number.MAX_SAFE_INTEGER });
    await upstreamTasks.begin({
      taskId: id,
      channelId: "relay",
      now: 0,
      deadlineAt: Number.MAX_SAFE_INTEGER,
    });
    await upstreamTasks.accepted(id, { upstreamId: `up-${i}`, status: "pending", nextPollAt: 0 });
  }
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
          pollIntervalMs: opts.pollIntervalMs ?? 1000,
          cooldown: { failures: 3, seconds: 60 },
        },
        upstream,
      },
    ],
    health: createSqlChannelHealthStore(db.kysely),
    upstreamTasks,
  });
  let pollers = 0;
  const poller = (now: () => number, settings: Partial<PollerSettings> = {}) =>
    createUpstreamPoller({
      db,
      tasks,
      upstreamTasks: opts.wrap ? opts.wrap(upstreamTasks) : upstreamTasks,
      router,
      blobs,
      finisher: storingFinisher(blobs),
      lifecycle: createTaskLifecycle({ tasks, billing: null, clock: { now } }),
      clock: { now },
      logger: silent,
      telemetry: { providerCall: () => {} },
      settings: {
        concurrency: 4,
        fetchConcurrency: 1,
        leaseMs: 60_000,
        idleMs: 20,
        maxBackoffMs: 1000,
        fetchAttempts: 5,
        scratchDir: join(dir, `scratch-${++pollers}`),
        ...settings,
      },
    });
  return {
    dir,
    ids,
    tasks,
    upstreamTasks,
    blobs,
    poller,
    async close() {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

describe.each(backends)("upstream poller on $name", (backend) => {
  it("a result stored by another poller after this one's lease ran out is kept, not deleted", async () => {
    // Two pollers (two worker processes) on one database: a completed task whose download outlasts
    // the poller's lease is taken up by the other poller, which downloads and stores it first. The
    // slower one must then leave the stored result alone (each download stores under a folder of its
    // own) and delete only its own download, never what the completed task points to.
    // The first download (poller A's) hangs until released; later ones answer at once.
    const { state, upstream } = finishedUpstream("the same video from the same upstream");
    const f = await fixture(backend, upstream);
    try {
      const [id = ""] = f.ids;
      const leaseMs = 60_000;
      // Poller A leases the task and starts downloading it; B runs once A's lease has run out.
      const a = f.poller(() => 1000, { leaseMs });
      const b = f.poller(() => 1000 + leaseMs + 1, { leaseMs });
      a.start();
      await until("poller A downloading", () => state.downloads === 1);
      b.start();
      await until(
        "poller B completing the task",
        async () => (await f.tasks.get(id))?.status === "completed",
      );
      await b.stop();
      state.releaseFirst();
      // A finishes its download (its fake ignores the stop signal) and finds the task completed.
      await a.stop();
      expect(state.downloads).toBe(2);

      const task = await f.tasks.get(id);
      expect(task?.status).toBe("completed");
      const { videoKey, thumbnailKey } = task?.result ?? { videoKey: "", thumbnailKey: "" };
      expect(videoKey.startsWith(taskPrefixFor(id))).toBe(true);
      expect(await f.blobs.stat(videoKey)).toBeDefined();
      expect(await f.blobs.stat(thumbnailKey)).toBeDefined();
      // A's download, under names of its own, is gone: only B's files are left.
      const attemptOf = (name: string) => name.slice(0, name.lastIndexOf("-"));
      const left = await readdir(join(f.dir, "blobs", taskPrefixFor(id)));
      expect(new Set(left.map(attemptOf))).toEqual(new Set([attemptOf(basename(videoKey))]));
    } finally {
      await f.close();
    }
  });

  it("failing polls back off to a whole-millisecond next poll and their count is kept", async () => {
    let polls = 0;
    const f = await fixture(
      backend,
      fakeUpstream({
        poll: async () => {
          polls++;
          throw new Error("connection reset");
        },
      }),
      { pollIntervalMs: 1 },
    );
    try {
      const [id = ""] = f.ids;
      // The backoff's jitter makes fractional waits; the real clock lets them come due.
      const p = f.poller(() => Date.now(), { maxBackoffMs: 5 });
      p.start();
      await until(
        "three failed polls counted",
        async () => ((await f.upstreamTasks.get(id))?.pollErrors ?? 0) >= 3,
      );
      await p.stop();
      const row = await f.upstreamTasks.get(id);
      expect(Number.isInteger(row?.nextPollAt)).toBe(true);
      expect(row?.pollErrors).toBeLessThanOrEqual(polls);
      expect((await f.tasks.get(id))?.status).toBe("pending");
    } finally {
      await f.close();
    }
  });

  it("a write the store refuses for one task does not keep the others' outcomes from being saved", async () => {
    const f = await fixture(
      backend,
      fakeUpstream({
        poll: async () => {
          throw new Error("connection reset");
        },
      }),
      {
        count: 3,
        pollIntervalMs: 1,
        // The store refuses any write that includes the first task (one bad row in a batch).
        wrap: (s) => ({
          ...s,
          saveMany: (rows, tx) =>
            rows.some((r) => r.taskId === taskId(0))
              ? Promise.reject(new Error("value out of range"))
              : s.saveMany(rows, tx),
        }),
      },
    );
    try {
      const p = f.poller(() => Date.now(), { maxBackoffMs: 5, concurrency: 3 });
      p.start();
      await until("the other tasks' failed polls counted", async () => {
        const rows = await Promise.all(f.ids.slice(1).map((id) => f.upstreamTasks.get(id)));
        return rows.every((r) => (r?.pollErrors ?? 0) >= 2);
      });
      await p.stop();
      expect((await f.upstreamTasks.get(taskId(0)))?.pollErrors).toBe(0);
    } finally {
      await f.close();
    }
  });

  it("a result whose download keeps failing fails the task after the allowed downloads", async () => {
    let downloads = 0;
    const f = await fixture(
      backend,
      fakeUpstream({
        poll: async () => ({ status: status("completed"), retryAfterS: null }),
        fetchResult: async () => {
          downloads++;
          throw errors.upstreamBadContent("relay", "the result link answered an HTML page");
        },
      }),
      { pollIntervalMs: 1 },
    );
    try {
      const [id = ""] = f.ids;
      const p = f.poller(() => Date.now(), { maxBackoffMs: 5, fetchAttempts: 3 });
      p.start();
      await until("the task failed", async () => (await f.tasks.get(id))?.status === "failed");
      await p.stop();
      expect(downloads).toBe(3);
      expect((await f.tasks.get(id))?.error).toMatchObject({ code: "upstream_bad_content" });
      expect((await f.upstreamTasks.get(id))?.phase).toBe("done");
    } finally {
      await f.close();
    }
  });

  it("leases only the tasks it is polling, so a poller that dies holds back no others", async () => {
    let started = 0;
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const f = await fixture(
      backend,
      fakeUpstream({
        poll: async () => {
          started++;
          await released;
          return { status: status("running"), retryAfterS: null };
        },
      }),
      { count: 6 },
    );
    try {
      const now = 1000;
      const leaseMs = 30_000;
      const p = f.poller(() => now, { concurrency: 2, leaseMs });
      p.start();
      await until("two polls under way", () => started === 2);
      // The other four are still due: another poller could take them now.
      const rows = await Promise.all(f.ids.map((id) => f.upstreamTasks.get(id)));
      const leased = rows.filter((r) => (r?.nextPollAt ?? 0) >= now + leaseMs);
      expect(leased).toHaveLength(2);
      expect(rows.filter((r) => (r?.nextPollAt ?? Number.POSITIVE_INFINITY) <= now)).toHaveLength(4);
      release();
      await until("every task polled once", async () => {
        const all = await Promise.all(f.ids.map((id) => f.upstreamTasks.get(id)));
        return all.every((r) => r?.nextPollAt === now + 1000);
      });
      await p.stop();
      expect(started).toBe(6);
    } finally {
      await f.close();
    }
  });
  it("with its download slots busy a poller leases no more finished tasks than it can queue: another poller downloads the rest", async () => {
    // Poller A's only download slot hangs on the first task. The two others are finished upstream
    // too; A may queue one behind its busy slot, and must leave the other due for poller B, whose
    // slot is free, instead of leasing both and holding them while B has nothing to do.
    const { state, upstream } = finishedUpstream("a video");
    const f = await fixture(backend, upstream, { count: 3 });
    try {
      const [first = "", second = "", third = ""] = f.ids;
      // Only the first task is due when A starts; the two others a little later.
      await f.upstreamTasks.saveMany(
        [second, third].map((taskId) => ({
          taskId,
          nextPollAt: 5000,
          pollErrors: 0,
          fetchErrors: 0,
          lastStatus: null,
        })),
      );
      let now = 1000;
      const a = f.poller(() => now, { concurrency: 4, fetchConcurrency: 1 });
      a.start();
      await until("poller A downloading the first task", () => state.downloads === 1);
      now = 6000;
      a.wake();
      // A leases one of the two (it waits behind the busy slot); the other stays due.
      await until("one task waiting behind A's busy slot", async () => {
        const rows = await Promise.all([second, third].map((id) => f.upstreamTasks.get(id)));
        return rows.filter((r) => (r?.nextPollAt ?? 0) > now).length === 1;
      });
      await new Promise((r) => setTimeout(r, 100));
      const rows = await Promise.all([second, third].map((id) => f.upstreamTasks.get(id)));
      expect(rows.filter((r) => (r?.nextPollAt ?? Number.POSITIVE_INFINITY) <= now)).toHaveLength(1);
      const left =
        [second, third][rows.findIndex((r) => (r?.nextPollAt ?? Number.POSITIVE_INFINITY) <= now)] ?? "";
      const b = f.poller(() => now, { concurrency: 4, fetchConcurrency: 1 });
      b.start();
      await until(
        "poller B completing the task A left",
        async () => (await f.tasks.get(left))?.status === "completed",
      );
      // ...while A is still downloading the first.
      expect((await f.tasks.get(first))?.status).not.toBe("completed");
      await b.stop();
      state.releaseFirst();
      await until("A completing its two", async () => {
        const ts = await Promise.all(f.ids.map((id) => f.tasks.get(id)));
        return ts.every((t) => t?.status === "completed");
      });
      await a.stop();
      expect(state.downloads).toBe(3);
    } finally {
      await f.close();
    }
  });
});
