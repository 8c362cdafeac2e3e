/**
 * The durable task engine through the HTTP API, with a scripted provider: retries with backoff,
 * permanent failures, deadlines, the concurrency cap, and restart with queued work.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { errors, type ReelayError } from "../../src/core/errors.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";
import { pollUntil } from "../helpers/wait.js";

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function start(provider: FakeProvider, engine: Parameters<typeof startTestApp>[0] = {}) {
  const app = await startTestApp({
    overrides: { provider },
    engine: { backoffBaseMs: 20, backoffMaxMs: 100, ...engine.engine },
    ...(engine.env ? { env: engine.env } : {}),
    ...(engine.dataDir ? { dataDir: engine.dataDir } : {}),
  });
  apps.push(app);
  return { app, key: await app.newKey() };
}

async function create(app: TestApp, key: string, body: object = SEED_BODY): Promise<string> {
  const res = await app.request("/v1/video/create", { key, body });
  expect(res.status).toBe(200);
  return String(((await res.json()) as { id: string }).id);
}

const flaky = () => ({ error: errors.imageFetchFailed(0, "upstream answered 503", true) });

describe("task engine", () => {
  it("retries a retryable failure with backoff, then completes", async () => {
    const provider = new FakeProvider([flaky(), flaky(), "ok"]);
    const { app, key } = await start(provider);
    const task = await waitForTask(app, key, await create(app, key));
    expect(task.status).toBe("completed");
    expect(provider.calls).toBe(3);
    expect((task.detail as { pending_info: { attempts: number } }).pending_info.attempts).toBe(3);
    expect(task.progress).toBe(100);
    expect(task.error).toBeNull();
  });

  it("gives up after the attempt limit with the last error", async () => {
    const provider = new FakeProvider([], flaky());
    const { app, key } = await start(provider, { env: { REELAY_MAX_ATTEMPTS: "2" } });
    const task = await waitForTask(app, key, await create(app, key));
    expect(task.status).toBe("failed");
    expect(provider.calls).toBe(2);
    expect(task.error).toMatchObject({ code: "retries_exhausted" });
    expect(String((task.error as { message: string }).message)).toContain("503");
  });

  it("fails at once on a permanent error, naming it", async () => {
    const provider = new FakeProvider([{ error: errors.imageFetchFailed(1, "answered 404", false) }]);
    const { app, key } = await start(provider);
    const task = await waitForTask(app, key, await create(app, key));
    expect(task.status).toBe("failed");
    expect(provider.calls).toBe(1);
    expect(task.error).toEqual({ code: "image_fetch_failed", message: "images[1]: answered 404" });
    expect(task.video_url).toBeNull();
  });

  it("a task past its deadline fails with task_timeout, and its work is aborted", async () => {
    const provider = new FakeProvider(["hang"]);
    const { app, key } = await start(provider, { engine: { taskTimeoutS: 1 } });
    const id = await create(app, key);
    const task = await waitForTask(app, key, id, { timeoutMs: 30_000 });
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({ code: "task_timeout" });
    expect(provider.active).toBe(0);
  });

  /**
   * Five tasks, renders held until released: two render, the other three wait in the queue as
   * `pending` (unclaimed: a worker killed now delays only the two it renders).
   */
  async function twoOfFiveRender(app: TestApp, key: string, provider: FakeProvider, open: () => void) {
    const ids = await Promise.all(Array.from({ length: 5 }, () => create(app, key)));
    // Bounded wait until the worker has taken what it may.
    await pollUntil(
      () => provider.active,
      (n) => n >= 2,
      { what: "two renders", timeoutMs: 2000, intervalMs: 20 },
    );
    const statuses = await Promise.all(
      ids.map(async (id) => {
        const res = await app.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key });
        return ((await res.json()) as { status: string }).status;
      }),
    );
    expect(statuses.filter((s) => s === "processing")).toHaveLength(2);
    expect(statuses.filter((s) => s === "pending")).toHaveLength(3);
    expect(await app.container.services.queue.depth(Date.now())).toMatchObject({ running: 2, queued: 3 });
    open();
    for (const id of ids) expect((await waitForTask(app, key, id)).status).toBe("completed");
    expect(provider.maxActive).toBe(2);
  }

  const held = () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      open = r;
    });
    return { provider: new FakeProvider([], { gate }), open };
  };

  it("runs at most `concurrency` renders at once; the rest wait queued", async () => {
    const { provider, open } = held();
    const { app, key } = await start(provider, { engine: { concurrency: 2 } });
    await twoOfFiveRender(app, key, provider, open);
  });

  it("with upstream channels configured, still claims no more local renders than its free slots", async () => {
    // Upstream creates may run beside renders (REELAY_SUBMIT_CONCURRENCY), but a job that turns out
    // to be a local render must not be claimed only to wait for a slot, holding its lease.
    const { provider, open } = held();
    const app = await startWithChannels(
      {
        channels: [
          { id: "local", kind: "local", priority: 10 },
          // Never reached (lower priority); nothing listens there.
          channel("up", "unified", "http://127.0.0.1:9", { priority: 0 }),
        ],
      },
      { overrides: { provider }, engine: { concurrency: 2 }, env: secretEnv("up", "unused-secret-0123") },
    );
    apps.push(app);
    await twoOfFiveRender(app, await app.newKey(), provider, open);
  });

  it("queued tasks survive a restart and complete after it", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "reelay-restart-"));
    try {
      // Concurrency 0: the first process accepts tasks but renders none.
      const first = await start(new FakeProvider(), { dataDir, engine: { concurrency: 0 } });
      const ids = await Promise.all([1, 2, 3].map(() => create(first.app, first.key)));
      apps.splice(apps.indexOf(first.app), 1);
      await first.app.close();
      const provider = new FakeProvider();
      const second = await startTestApp({ dataDir, overrides: { provider } });
      apps.push(second);
      for (const id of ids) expect((await waitForTask(second, first.key, id)).status).toBe("completed");
      expect(provider.calls).toBe(3);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("an unexpected exception fails the task with internal_error, and the job goes to the dead-letter state", async () => {
    const provider = new FakeProvider([{ error: new TypeError("boom") as unknown as ReelayError }]);
    const { app, key } = await start(provider);
    const task = await waitForTask(app, key, await create(app, key));
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({ code: "internal_error" });
    expect(JSON.stringify(task)).not.toContain("boom");
    expect((await app.container.services.queue.depth(Date.now())).dead).toBe(1);
  });
});
