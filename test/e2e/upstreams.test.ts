/**
 * Upstream channels against emulated upstreams (separate HTTP servers on loopback): failover
 * before acceptance only, pinning after it, cool-down and recovery, Retry-After, deadlines,
 * upstream failures passed through, status normalisation, content checks on downloads.
 */
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import type { RunningEmulator } from "../emulators/common.js";
import { startOpenAiVideos } from "../emulators/openai-videos.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { pollUntil } from "../helpers/wait.js";

const running: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  await Promise.all(
    running
      .splice(0)
      .reverse()
      .map((r) => r.close()),
  );
});

async function emulators() {
  const a = await startUnifiedRelay({ secret: "secret-a-0123456789" });
  const b = await startOpenAiVideos({ secret: "secret-b-0123456789" });
  running.push(a, b);
  return { a, b };
}

async function app(
  file: Parameters<typeof startWithChannels>[0],
  env: Record<string, string> = {},
): Promise<ChannelApp> {
  const started = await startWithChannels(file, {
    env: { ...secretEnv("a", "secret-a-0123456789"), ...secretEnv("b", "secret-b-0123456789"), ...env },
  });
  running.push(started);
  return started;
}

const BODY = {
  model: "sora-2",
  prompt: "a lighthouse at dusk",
  orientation: "portrait",
  size: "small",
  duration: 10,
};

async function create(s: ChannelApp, key: string, body: object = BODY): Promise<string> {
  const res = await s.request("/v1/video/create", { key, body });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

const routesSeen = (e: RunningEmulator) => e.core.requests.map((r) => r.route);

describe("routing and failover", () => {
  it("fails over to the next channel when the first refuses the create, then keeps every poll and download on the channel that accepted it", async () => {
    const { a, b } = await emulators();
    const s = await app({
      channels: [
        channel("a", "unified", a.url, { priority: 10 }),
        channel("b", "openai", b.url, { priority: 5 }),
      ],
    });
    const key = await s.newKey();
    a.core.fault("create", { kind: "status", status: 500 });
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    // A saw one create and nothing after it; B saw the create, the polls and the download, with B's secret.
    expect(routesSeen(a)).toEqual(["create"]);
    expect(routesSeen(b)).toContain("query");
    expect(routesSeen(b)).toContain("content");
    expect(b.core.requests.every((r) => r.auth === "Bearer secret-b-0123456789")).toBe(true);
    // The admin view names the channel that served it.
    const admin = (await (await s.request(`/admin/tasks?limit=5`, { key: s.adminToken })).json()) as {
      data: { id: string; channel: string | null; upstream_id: string | null }[];
    };
    const row = admin.data.find((t) => t.id === id);
    expect(row?.channel).toBe("b");
    expect(row?.upstream_id).toMatch(/^video_/);
    // The video is Reelay's own copy: fetched with Reelay's link, no upstream key needed.
    const video = await fetch(String(done.video_url));
    expect(video.headers.get("content-type")).toBe("video/mp4");
    expect((await video.arrayBuffer()).byteLength).toBeGreaterThan(1000);
  });

  it("cools a failing channel down, sends around it, and probes it back after the cool-down", async () => {
    const { a, b } = await emulators();
    const s = await app({
      channels: [
        channel("a", "unified", a.url, { priority: 10, cooldown: { failures: 2, seconds: 4 } }),
        channel("b", "openai", b.url, { priority: 5 }),
      ],
    });
    a.core.defaultBehaviour = { runMs: 300 };
    b.core.defaultBehaviour = { runMs: 300 };
    const key = await s.newKey();
    a.core.fault("create", { kind: "status", status: 503 }, 2);
    for (let i = 0; i < 2; i++)
      expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    const channels = async () =>
      (await (await s.request("/admin/channels", { key: s.adminToken })).json()) as {
        data: {
          id: string;
          state: string;
          failures: number;
          cooldown_until: number | null;
          in_flight: number;
        }[];
      };
    const cooled = (await channels()).data.find((c) => c.id === "a");
    expect(cooled?.state).toBe("cooling_down");
    expect(cooled?.failures).toBe(2);
    // While A cools down, a new task goes straight to B: A sees no third create.
    expect((await waitForTask(s, key, await create(s, key))).status).toBe("completed");
    expect(routesSeen(a).filter((r) => r === "create")).toHaveLength(2);
    // After the cool-down A gets the next task (the probe), serves it, and is healthy again.
    const until = cooled?.cooldown_until ?? 0;
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now()) + 100));
    const probe = await create(s, key);
    expect((await waitForTask(s, key, probe)).status).toBe("completed");
    expect(routesSeen(a).filter((r) => r === "create")).toHaveLength(3);
    expect(routesSeen(a)).toContain("content");
    expect((await channels()).data.find((c) => c.id === "a")).toMatchObject({
      state: "healthy",
      failures: 0,
    });
  });

  it("honours Retry-After on a 429 at create and at poll", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] });
    const key = await s.newKey();
    a.core.fault("create", { kind: "status", status: 429, retryAfterS: 2 });
    a.core.fault("query", { kind: "status", status: 429, retryAfterS: 2 });
    const id = await create(s, key);
    expect((await waitForTask(s, key, id)).status).toBe("completed");
    const creates = a.core.requests.filter((r) => r.route === "create");
    expect(creates).toHaveLength(2);
    expect((creates[1]?.at ?? 0) - (creates[0]?.at ?? 0)).toBeGreaterThanOrEqual(1900);
    const queries = a.core.requests.filter((r) => r.route === "query");
    expect((queries[1]?.at ?? 0) - (queries[0]?.at ?? 0)).toBeGreaterThanOrEqual(1900);
  });

  it("does not send a create whose answer was lost to another channel", async () => {
    const { a, b } = await emulators();
    // B (OpenAI-shaped, no idempotency keys) first; A would take it if failover happened.
    const s = await app({
      channels: [
        channel("b", "openai", b.url, { priority: 10 }),
        channel("a", "unified", a.url, { priority: 5 }),
      ],
    });
    const key = await s.newKey();
    b.core.fault("create", { kind: "reset" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_outcome_unknown" });
    expect(String((done.error as { message: string }).message)).toContain("not sent elsewhere");
    expect(routesSeen(a)).toEqual([]);
  });

  it("re-sends an unanswered create to the same channel with the same idempotency key when it honours them", async () => {
    const { a } = await emulators();
    const s = await app({
      channels: [channel("a", "unified", a.url, { timeouts: { connectMs: 1000, requestMs: 500 } })],
    });
    const key = await s.newKey();
    a.core.fault("create", { kind: "slow", delayMs: 1500 });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.filter((r) => r.route === "create")).toHaveLength(2);
    // Both creates carried the task id as their key: the upstream made one task, not two.
    expect(a.core.tasks.size).toBe(1);
  });

  /** Channel a (unified) before b (OpenAI-shaped), and a key. */
  async function preferA() {
    const { a, b } = await emulators();
    const s = await app({
      channels: [
        channel("a", "unified", a.url, { priority: 10 }),
        channel("b", "openai", b.url, { priority: 5 }),
      ],
    });
    return { a, b, s, key: await s.newKey() };
  }
  /** The next create at `e` is refused with HTTP 400 and this error. */
  const refuseCreate = (e: RunningEmulator, error: { message: string; code: string }) =>
    e.core.fault("create", { kind: "status", status: 400, body: JSON.stringify({ error }) });

  it("fails at submit with the upstream's reason when the request itself is refused (no failover)", async () => {
    const { a, b, s, key } = await preferA();
    refuseCreate(a, { message: "duration must be 10 or 15", code: "bad_duration" });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_rejected" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("at submit");
    expect(message).toContain("bad_duration");
    expect(message).toContain("duration must be 10 or 15");
    expect(routesSeen(b)).toEqual([]);
  });

  it("classes a refusal by the taxonomy: moderation fails as content_policy, a quota refusal moves on", async () => {
    const { a, b, s, key } = await preferA();
    refuseCreate(a, { message: "prompt rejected by safety system", code: "content_policy" });
    const refused = await waitForTask(s, key, await create(s, key));
    expect(refused.status).toBe("failed");
    expect(refused.error).toMatchObject({ code: "content_policy" });
    expect(String((refused.error as { message: string }).message)).toContain(
      "prompt rejected by safety system",
    );
    expect(routesSeen(b)).toEqual([]);

    // A 400 whose code says the account ran out is the channel's fault: the next channel takes it.
    refuseCreate(a, { message: "top up your account", code: "insufficient_quota" });
    const moved = await waitForTask(s, key, await create(s, key));
    expect(moved.status).toBe("completed");
    expect(routesSeen(b)).toContain("create");
  });
});

describe("following upstream tasks", () => {
  it("passes an upstream failure through with its code and reason, saying it failed while running, and refunds", async () => {
    const { b } = await emulators();
    const s = await app({
      channels: [channel("b", "openai", b.url)],
      pricing: { perSecond: { "sora-2": 1 } },
    });
    const owner = `o-${Date.now()}`;
    const key = await s.newKey(owner);
    await s.request(`/admin/accounts/${owner}/credits`, { key: s.adminToken, body: { amount: 100 } });
    // An internal error (the moderation refusals are test/e2e/failover.test.ts's): with no other
    // channel to fail over to, the task fails with the provider's code and reason.
    b.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "internal_error",
      failMessage: "the renderer ran out of memory",
    });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_failed" });
    const message = String((done.error as { message: string }).message);
    expect(message).toContain("while running");
    expect(message).toContain("internal_error");
    expect(message).toContain("the renderer ran out of memory");
    const account = (await (await s.request(`/admin/accounts/${owner}`, { key: s.adminToken })).json()) as {
      balance: number;
    };
    expect(account.balance).toBe(100);
  });

  it("records what the upstream says of a watermark (has_watermark), and none when it says nothing", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] });
    const key = await s.newKey();
    a.core.nextTask({ runMs: 200, hasWatermark: true });
    const marked = await waitForTask(s, key, await create(s, key));
    expect(marked.status).toBe("completed");
    expect((marked.detail as { has_watermark: unknown }).has_watermark).toBe(true);
    a.core.nextTask({ runMs: 200 });
    const silent = await waitForTask(s, key, await create(s, key));
    expect((silent.detail as { has_watermark: unknown }).has_watermark).toBe(false);
  });

  it("keeps a task running through unknown and missing statuses, mirrors progress, and counts them", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] });
    const key = await s.newKey();
    a.core.nextTask({ runMs: 2500, runningStatuses: ["NOT_START", "weird_state", undefined, "processing"] });
    const id = await create(s, key);
    const seen = new Set<string>();
    let progressSeen = 0;
    await pollUntil(
      async () => {
        const q = await s.query(key, id);
        seen.add(String(q.status));
        progressSeen = Math.max(progressSeen, Number(q.progress));
        return q.status;
      },
      (status) => status === "completed" || status === "failed",
      { what: `task ${id} to end`, timeoutMs: 10_000 },
    );
    expect(seen.has("failed")).toBe(false);
    expect(seen.has("completed")).toBe(true);
    expect(progressSeen).toBe(100);
    const metrics = await (await s.request("/metrics", { key: s.adminToken })).text();
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="weird_state"\} [1-9]/);
    expect(metrics).toMatch(/reelay_upstream_unknown_status_total\{channel="a",status="\(missing\)"\} [1-9]/);
  });

  it("ends a task the upstream reports as expired", async () => {
    const { b } = await emulators();
    const s = await app({ channels: [channel("b", "openai", b.url)] });
    const key = await s.newKey();
    b.core.nextTask({ outcome: "expire", runMs: 200 });
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_expired" });
  });

  it("fails a task stuck upstream past its deadline, naming the channel and the last status, and cancels it there", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] }, { REELAY_TASK_TIMEOUT_S: "10" });
    const key = await s.newKey();
    a.core.nextTask({ outcome: "never" });
    const done = await waitForTask(s, key, await create(s, key), { timeoutMs: 40_000 });
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "task_timeout" });
    expect(String((done.error as { message: string }).message)).toContain(
      "channel 'a' still reported it as 'processing'",
    );
    expect(routesSeen(a)).toContain("cancel");
  });

  it("fails the download of an HTML error page instead of storing it as a video", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] });
    const key = await s.newKey();
    a.core.fault("content", { kind: "html" }, 10);
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_bad_content" });
    expect(String((done.error as { message: string }).message)).toContain("text/html");
    expect(done.video_url).toBeNull();
    expect(routesSeen(a).filter((r) => r === "content").length).toBeGreaterThanOrEqual(2);
  });

  it("refuses a result whose bytes are a playlist naming a local video, whatever its content type", async () => {
    const { a } = await emulators();
    const s = await app({ channels: [channel("a", "unified", a.url)] });
    const key = await s.newKey();
    // Another owner's video in the data dir: a playlist read by content would make it this result.
    const victim = join(s.config.dataDir, "blobs", "tasks", "task_victim", "video.mp4");
    await mkdir(dirname(victim), { recursive: true });
    const { ffmpegPath } = await resolveMediaTools({});
    await promisify(execFile)(ffmpegPath, [
      ...["-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x00ff00:s=320x240:r=10:d=10"],
      ...["-c:v", "libx264", "-pix_fmt", "yuv420p", victim],
    ]);
    const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n${victim}\n#EXT-X-ENDLIST\n`;
    a.core.fault("content", { kind: "status", status: 200, contentType: "video/mp4", body: playlist }, 10);
    const done = await waitForTask(s, key, await create(s, key));
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_bad_content" });
    expect(String((done.error as { message: string }).message)).toContain("not an MP4");
    expect(done.video_url).toBeNull();
  });

  it("cancelling a task in Reelay cancels it upstream", async () => {
    const { b } = await emulators();
    const s = await app({ channels: [channel("b", "openai", b.url)] });
    const key = await s.newKey();
    b.core.nextTask({ outcome: "never" });
    const id = await create(s, key);
    await pollUntil(() => routesSeen(b).includes("query"), Boolean, {
      what: "an upstream poll",
      timeoutMs: 5000,
    });
    const res = await s.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(res.status).toBe(200);
    await pollUntil(() => routesSeen(b).includes("cancel"), Boolean, {
      what: "an upstream cancel",
      timeoutMs: 5000,
    });
    expect(routesSeen(b)).toContain("cancel");
    expect((await s.query(key, id)).status).toBe("cancelled");
  });
});

describe("remix of upstream videos", () => {
  it("sends a remix of a video an OpenAI-shaped upstream made back to that upstream", async () => {
    const { a, b } = await emulators();
    const s = await app({
      channels: [
        channel("b", "openai", b.url, { priority: 10 }),
        channel("a", "unified", a.url, { priority: 5 }),
      ],
    });
    b.core.defaultBehaviour = { runMs: 300 };
    const key = await s.newKey();
    const first = await create(s, key);
    expect((await waitForTask(s, key, first)).status).toBe("completed");
    const res = await s.request("/v1/video/remix", { key, body: { id: first, prompt: "now at night" } });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(done.remixed_from).toBe(first);
    const remix = b.core.requests.find((r) => r.route === "remix");
    const source = [...b.core.tasks.values()].find((t) => t.input.prompt === BODY.prompt);
    expect(remix?.path).toBe(`/v1/videos/${source?.id}/remix`);
    expect(routesSeen(a)).toEqual([]);
  });

  it("remixes a unified upstream's video with the local renderer from Reelay's copy, and refuses it clearly without one", async () => {
    const { a } = await emulators();
    a.core.defaultBehaviour = { runMs: 300 };
    const withLocal = await app({
      channels: [
        channel("a", "unified", a.url, { priority: 10 }),
        { id: "local", kind: "local", priority: -1 },
      ],
    });
    const key = await withLocal.newKey();
    const first = await create(withLocal, key);
    expect((await waitForTask(withLocal, key, first)).status).toBe("completed");
    const res = await withLocal.request("/v1/video/remix", {
      key,
      body: { id: first, prompt: "in watercolour" },
    });
    const { id } = (await res.json()) as { id: string };
    const done = await waitForTask(withLocal, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(a.core.requests.filter((r) => r.route === "create")).toHaveLength(1);

    const upstreamOnly = await app({ channels: [channel("a", "unified", a.url)] });
    const key2 = await upstreamOnly.newKey();
    const src = await create(upstreamOnly, key2);
    expect((await waitForTask(upstreamOnly, key2, src)).status).toBe("completed");
    const r2 = await upstreamOnly.request("/v1/video/remix", { key: key2, body: { id: src, prompt: "x" } });
    const failed = await waitForTask(upstreamOnly, key2, ((await r2.json()) as { id: string }).id);
    expect(failed.status).toBe("failed");
    expect(String((failed.error as { message: string }).message)).toContain("need the local renderer");
  });
});
