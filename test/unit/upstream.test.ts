/** Upstream building blocks: status normalisation, field reading, Retry-After, routing order, channel config. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseRetryAfter, upstreamMessage } from "../../src/adapters/providers/upstream/http.js";
import { readOpenAiVideo } from "../../src/adapters/providers/upstream/openai-videos.js";
import { normaliseProgress, normaliseStatus } from "../../src/adapters/providers/upstream/status.js";
import { readUnifiedStatus } from "../../src/adapters/providers/upstream/unified-relay.js";
import { openSqlite } from "../../src/adapters/sql/sqlite/db.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../../src/adapters/sql/upstream-store.js";
import { DEFAULT_MODELS, modelTable } from "../../src/core/catalogue/models.js";
import {
  type Channel,
  type ChannelSpec,
  createChannelRouter,
  weightedOrder,
} from "../../src/core/upstream/channels.js";
import { ConfigError, loadConfig } from "../../src/main/config.js";

describe("status normalisation", () => {
  it.each([
    ["pending", "queued"],
    ["NOT_START", "queued"],
    ["queued", "queued"],
    ["processing", "running"],
    ["in_progress", "running"],
    ["IN PROGRESS", "running"],
    ["success", "completed"],
    ["succeeded", "completed"],
    ["done", "completed"],
    ["completed", "completed"],
    ["failed", "failed"],
    ["FAILURE", "failed"],
    ["expired", "expired"],
  ])("%s → %s", (raw, state) => {
    expect(normaliseStatus(raw)).toEqual({ state, raw, known: true });
  });

  it("an unknown or missing status means still running, flagged unknown", () => {
    expect(normaliseStatus("unknown")).toEqual({ state: "running", raw: "unknown", known: false });
    expect(normaliseStatus("quantum")).toMatchObject({ state: "running", known: false });
    expect(normaliseStatus(undefined)).toEqual({ state: "running", raw: null, known: false });
    expect(normaliseStatus(42)).toMatchObject({ state: "running", known: false });
  });

  it("progress comes as a percentage or a fraction", () => {
    expect(normaliseProgress(55, undefined)).toBe(55);
    expect(normaliseProgress("70%", undefined)).toBe(70);
    expect(normaliseProgress(undefined, 0.93)).toBeCloseTo(93);
    expect(normaliseProgress(undefined, undefined)).toBeNull();
    expect(normaliseProgress(150, undefined)).toBe(100);
  });
});

describe("reading upstream answers", () => {
  it("reads the unified query shapes relays use", () => {
    const pending = readUnifiedStatus({
      id: "sora-2:task_x",
      status: "pending",
      detail: { pending_info: { progress_pct: 0.5, failure_reason: null } },
    });
    expect(pending).toMatchObject({ state: "queued", progress: 50, error: null, videoUrl: null });
    const done = readUnifiedStatus({
      status: "success",
      video_url: "https://cdn/x.mp4",
      thumbnail_url: "https://cdn/x.jpg",
    });
    expect(done).toMatchObject({
      state: "completed",
      videoUrl: "https://cdn/x.mp4",
      thumbnailUrl: "https://cdn/x.jpg",
      watermarked: null,
    });
    // has_watermark where Reelay's own view puts it (detail), or at the top.
    expect(
      readUnifiedStatus({
        status: "completed",
        video_url: "https://cdn/x.mp4",
        detail: { has_watermark: true },
      }).watermarked,
    ).toBe(true);
    expect(
      readUnifiedStatus({ status: "completed", video_url: "https://cdn/x.mp4", has_watermark: false })
        .watermarked,
    ).toBe(false);
    // A relay that wraps its answer in `data`.
    expect(
      readUnifiedStatus({ code: 0, data: { status: "completed", detail: { url: "https://cdn/y.mp4" } } }),
    ).toMatchObject({
      state: "completed",
      videoUrl: "https://cdn/y.mp4",
    });
    // Completed without a link yet: keep polling.
    expect(readUnifiedStatus({ status: "completed" })).toMatchObject({ state: "running", known: true });
    const failed = readUnifiedStatus({
      status: "failed",
      detail: { pending_info: { failure_reason: "policy" } },
    });
    expect(failed).toMatchObject({ state: "failed", error: { code: null, message: "policy" } });
    const vendor = readUnifiedStatus({ status: "FAILURE", fail_reason: "upstream quota" });
    expect(vendor.error?.message).toBe("upstream quota");
  });

  it("reads OpenAI video objects, errors included", () => {
    expect(readOpenAiVideo({ id: "video_1", status: "in_progress", progress: 40 })).toMatchObject({
      state: "running",
      progress: 40,
    });
    expect(
      readOpenAiVideo({
        id: "video_1",
        status: "failed",
        error: { code: "moderation_blocked", message: "no" },
      }),
    ).toMatchObject({ state: "failed", error: { code: "moderation_blocked", message: "no" } });
    expect(readOpenAiVideo({ id: "video_1" })).toMatchObject({ state: "running", known: false });
  });

  it("finds the upstream's words for a failure wherever it put them", () => {
    expect(upstreamMessage({ error: { message: "bad size", code: "invalid" } }, "")).toEqual({
      code: "invalid",
      message: "bad size",
    });
    expect(upstreamMessage({ message: "quota" }, "")).toEqual({ code: null, message: "quota" });
    expect(upstreamMessage(undefined, "<html> Bad   Gateway </html>")).toEqual({
      code: null,
      message: "<html> Bad Gateway </html>",
    });
  });

  it("parses Retry-After as seconds, as a date, and retry-after-ms", () => {
    expect(parseRetryAfter({ "retry-after": "7" })).toBe(7);
    expect(parseRetryAfter({ "retry-after-ms": "1500" })).toBe(2);
    expect(parseRetryAfter({ "retry-after": new Date(10_000).toUTCString() }, 0)).toBe(10);
    expect(parseRetryAfter({})).toBeNull();
    expect(parseRetryAfter({ "retry-after": "soon" })).toBeNull();
  });
});

describe("routing", () => {
  const spec = (id: string, over: Partial<ChannelSpec> = {}): ChannelSpec => ({
    id,
    kind: "unified",
    priority: 0,
    weight: 1,
    maxConcurrent: 0,
    models: "*",
    pollIntervalMs: 1000,
    cooldown: { failures: 2, seconds: 10 },
    ...over,
  });

  it("orders equals by weight", () => {
    const counts = { a: 0, b: 0 };
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 4000; i++) {
      const first = weightedOrder(["a", "b"] as const, (x) => (x === "a" ? 3 : 1), random)[0];
      if (first) counts[first]++;
    }
    expect(counts.a / 4000).toBeGreaterThan(0.7);
    expect(counts.a / 4000).toBeLessThan(0.8);
  });

  it("picks the upstream model id: the channel's rename, else the catalogue's for its kind, else the name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-route-"));
    const db = await openSqlite(dir);
    try {
      const ch = (s: ChannelSpec): Channel => ({ spec: s, upstream: null });
      const catalogue = modelTable([
        ...DEFAULT_MODELS,
        {
          name: "wan-x",
          family: "wan",
          sizes: ["small"],
          durations: [5],
          maxImages: 1,
          videoSizes: [],
          videoSeconds: [],
          upstream: { openai: { textToVideo: "wan-t2v", imageToVideo: "wan-i2v" }, unified: "wan-u" },
        },
      ]);
      const router = createChannelRouter({
        channels: [
          ch(spec("ds", { kind: "openai" })),
          ch(spec("listed", { kind: "openai", models: new Map([["wan-x", "wan-x"]]) })),
          ch(spec("renamed", { kind: "openai", models: new Map([["wan-x", "my-wan"]]) })),
          ch(spec("local", { kind: "local" })),
        ],
        health: createSqlChannelHealthStore(db.kysely),
        upstreamTasks: createSqlUpstreamTaskStore(db.kysely),
        models: catalogue,
      });
      const get = (id: string) => router.get(id) as Channel;
      expect(router.upstreamModel(get("ds"), "wan-x")).toBe("wan-t2v");
      expect(router.upstreamModel(get("ds"), "wan-x", { firstFrame: true })).toBe("wan-i2v");
      expect(router.upstreamModel(get("listed"), "wan-x")).toBe("wan-t2v");
      expect(router.upstreamModel(get("renamed"), "wan-x", { firstFrame: true })).toBe("my-wan");
      expect(router.upstreamModel(get("ds"), "sora-2")).toBe("sora-2");
      expect(router.upstreamModel(get("local"), "wan-x")).toBe("wan-x");
      // "*" on the local channel does not take a model that names its upstream kinds.
      const plan = await router.plan("wan-x", 1000);
      expect(plan.channels.map((c) => c.spec.id).sort()).toEqual(["ds", "listed", "renamed"]);
      expect((await router.plan("sora-2", 1000)).channels.map((c) => c.spec.id).sort()).toEqual([
        "ds",
        "local",
      ]);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("puts higher priority first, skips cooling and full channels, and says why when none is left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-route-"));
    const db = await openSqlite(dir);
    try {
      const upstreamTasks = createSqlUpstreamTaskStore(db.kysely);
      const health = createSqlChannelHealthStore(db.kysely);
      const ch = (s: ChannelSpec): Channel => ({ spec: s, upstream: null });
      const router = createChannelRouter({
        channels: [
          ch(spec("low", { priority: 1 })),
          ch(spec("high", { priority: 5, maxConcurrent: 1 })),
          ch(spec("pro-only", { priority: 9, models: new Map([["sora-2-pro", "sora-2-pro-hd"]]) })),
        ],
        health,
        upstreamTasks,
      });
      const ids = async (model = "sora-2", now = 1000) =>
        (await router.plan(model, now)).channels.map((c) => c.spec.id);
      expect(await ids()).toEqual(["high", "low"]);
      expect(await ids("sora-2-pro")).toEqual(["pro-only", "high", "low"]);
      expect(router.upstreamModel(router.get("pro-only") as Channel, "sora-2-pro")).toBe("sora-2-pro-hd");
      // "high" at its cap of 1.
      await upstreamTasks.begin({ taskId: "t1", channelId: "high", now: 1000, deadlineAt: 9e12 });
      expect(await ids()).toEqual(["low"]);
      // "low" fails twice: cool-down for 10 s from the second failure.
      await router.failure(router.get("low") as Channel, "HTTP 500", 1000);
      expect(await ids()).toEqual(["low"]);
      await router.failure(router.get("low") as Channel, "HTTP 500", 1000);
      const none = await router.plan("sora-2", 2000);
      expect(none.channels).toEqual([]);
      expect(none.why).toContain("busy");
      expect(none.retryAfterS).toBe(5);
      // After the cool-down it is tried again; one more failure doubles the next cool-down.
      expect(await ids("sora-2", 11_001)).toEqual(["low"]);
      const h = await health.failure("low", {
        error: "HTTP 500",
        now: 12_000,
        threshold: 2,
        cooldownMs: 10_000,
      });
      expect(h.cooldownUntil).toBe(12_000 + 20_000);
      await router.success(router.get("low") as Channel, 40_000);
      expect((await health.all()).get("low")).toMatchObject({
        failures: 0,
        cooldownUntil: 0,
        lastSuccessAt: 40_000,
      });
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("channel configuration", () => {
  async function withFile(content: object, env: Record<string, string> = {}) {
    const dir = await mkdtemp(join(tmpdir(), "reelay-chcfg-"));
    const file = join(dir, "reelay.json");
    await writeFile(file, JSON.stringify(content));
    try {
      return loadConfig({ REELAY_CONFIG_FILE: file, ...env });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const up = { id: "up", kind: "unified", baseUrl: "https://relay.example", secretEnv: "UP_KEY" };

  it("defaults to the local renderer for every model", () => {
    expect(loadConfig({}).channels).toMatchObject([{ id: "local", kind: "local", models: "*" }]);
  });

  it("reads channels with their secrets from the environment", async () => {
    const c = await withFile(
      { channels: [up, { id: "local", kind: "local", priority: -1 }] },
      { UP_KEY: "sk-up" },
    );
    expect(c.channels[0]).toMatchObject({ id: "up", secret: "sk-up", pollIntervalMs: 5000 });
  });

  it.each([
    [{ channels: [up] }, {}, "secretEnv names UP_KEY, which is not set"],
    [{ channels: [{ ...up, secretEnv: undefined, baseUrl: undefined }] }, {}, "needs baseUrl"],
    [{ channels: [{ ...up, baseUrl: "ftp://x" }] }, { UP_KEY: "k" }, "baseUrl"],
    [
      { channels: [{ ...up, models: ["sora-9"] }] },
      { UP_KEY: "k" },
      "model 'sora-9' is not in the model table",
    ],
    [
      {
        models: [{ name: "clip-1", family: "clip", sizes: ["small"], durations: [5], maxImages: 0 }],
        channels: [{ ...up, models: ["sora-2"] }],
      },
      { UP_KEY: "k" },
      "no channel serves model(s) clip-1",
    ],
    [{ channels: [up, up] }, { UP_KEY: "k" }, "the id is used twice"],
    [{ channels: [{ ...up, kind: "midjourney" }] }, { UP_KEY: "k" }, "channels.0.kind"],
    [{ channels: [{ ...up, weight: 0 }] }, { UP_KEY: "k" }, "channels.0.weight"],
  ])("%o is refused with a clear message", async (file, env, message) => {
    await expect(withFile(file, env)).rejects.toThrow(ConfigError);
    await expect(withFile(file, env)).rejects.toThrow(message);
  });
});
