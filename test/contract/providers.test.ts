/**
 * The provider contract, run on every provider behind a channel: the local renderer, both
 * emulated upstreams, and the fake most e2e tests use (so what they learn holds for the real
 * ones). What a user sees must not depend on which one made the video: a real MP4 at the asked
 * size and length behind Reelay's own links, a JPEG thumbnail, both APIs' views, and a cancel
 * that sticks.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CALLBACK_KINDS, type UpstreamKind } from "../../src/core/upstream/ports.js";
import { startComfyUi, WAN22_T2V_MAP, WAN22_T2V_WORKFLOW } from "../emulators/comfyui.js";
import type { RunningEmulator } from "../emulators/common.js";
import { startDashScope } from "../emulators/dashscope.js";
import { startFal } from "../emulators/fal.js";
import { startGemini } from "../emulators/gemini.js";
import { startKling } from "../emulators/kling.js";
import { startLuma } from "../emulators/luma.js";
import { startMiniMax } from "../emulators/minimax.js";
import { startNewApi } from "../emulators/newapi.js";
import { startOpenAiVideos } from "../emulators/openai-videos.js";
import { startOpenRouter } from "../emulators/openrouter.js";
import { startReplicate } from "../emulators/replicate.js";
import { startRunway } from "../emulators/runway.js";
import { startSeedance } from "../emulators/seedance.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { startVertex, testServiceAccountKey } from "../emulators/vertex.js";
import { startXai } from "../emulators/xai.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { pollUntil, sleep } from "../helpers/wait.js";

interface Subject {
  app: ChannelApp;
  emulator: RunningEmulator | null;
  /** Makes the next task run until cancelled (the local renderer's 25 s render outlasts the test). */
  holdNext(): void;
  /** What to ask of this provider's model, where it differs from the sora-2 family's (SORA_ASKS). */
  asks?: Asks;
  /** The channel takes the provider's callbacks (kinds that push them have them on here). */
  callbacks?: boolean;
}

/** A request each API makes to the subject's model, and the video that must come back. */
interface Asks {
  readonly model: string;
  readonly unified: { orientation: "portrait" | "landscape"; size: "small" | "large"; duration: number };
  readonly unifiedMakes: { width: number; height: number };
  readonly openai: { size: string; seconds: string };
  readonly openaiMakes: { width: number; height: number };
  /** A long task to cancel. */
  readonly cancel: {
    model: string;
    orientation: "portrait" | "landscape";
    size: "small" | "large";
    duration: number;
  };
}

const SORA_ASKS: Asks = {
  model: "sora-2",
  unified: { orientation: "portrait", size: "small", duration: 10 },
  unifiedMakes: { width: 720, height: 1280 },
  openai: { size: "1280x720", seconds: "4" },
  openaiMakes: { width: 1280, height: 720 },
  cancel: { model: "sora-2-pro", orientation: "landscape", size: "large", duration: 25 },
};

/** Kling's 1080p-only model: 5 or 10 s, 16:9 or 9:16 (test/emulators/kling.ts). */
const KLING_ASKS: Asks = {
  model: "kling-v2.1-master",
  unified: { orientation: "landscape", size: "large", duration: 5 },
  unifiedMakes: { width: 1920, height: 1080 },
  openai: { size: "1080x1920", seconds: "10" },
  openaiMakes: { width: 1080, height: 1920 },
  cancel: { model: "kling-v2.1-master", orientation: "landscape", size: "large", duration: 10 },
};

/**
 * A subject on one emulated upstream (800 ms a task): a channel of `kind` with its secret, serving
 * `models` (default "*"), alone in the config; with callbacks on where the kind pushes them (fal's
 * webhook keys from its emulator), so the contract covers them too.
 */
function upstream<E extends RunningEmulator>(
  kind: UpstreamKind,
  start: (o: { secret: string }) => Promise<E>,
  secret: string,
  o: {
    models?: string[];
    asks?: Asks;
    env?: (e: E) => Record<string, string>;
    /** The kind's own channel fields (Vertex's project, say). */
    channel?: (e: E) => Record<string, unknown>;
  } = {},
): () => Promise<Subject> {
  return async () => {
    const emulator = await start({ secret });
    emulator.core.defaultBehaviour = { runMs: 800 };
    const callbacks = CALLBACK_KINDS.has(kind);
    const app = await startWithChannels(
      {
        channels: [
          channel("up", kind, emulator.url, {
            ...(o.models ? { models: o.models } : {}),
            ...(callbacks ? { callbacks: true } : {}),
            ...(kind === "fal" ? { callbackKeysUrl: `${emulator.url}/.well-known/jwks.json` } : {}),
            ...o.channel?.(emulator),
          }),
        ],
      },
      { env: { ...secretEnv("up", secret), ...o.env?.(emulator) } },
    );
    return {
      app,
      emulator,
      holdNext: () => emulator.core.nextTask({ outcome: "never" }),
      ...(o.asks ? { asks: o.asks } : {}),
      callbacks,
    };
  };
}

const SUBJECTS: Record<string, () => Promise<Subject>> = {
  "local renderer": async () => ({
    app: await startWithChannels({ channels: [{ id: "local", kind: "local" }] }),
    emulator: null,
    holdNext: () => undefined,
  }),
  // With real media: its default known bytes are no MP4 (tests that use them compare bytes).
  "e2e fake provider": async () => {
    const fake = new FakeProvider();
    fake.realMedia = true;
    const app = await startWithChannels(
      { channels: [{ id: "local", kind: "local" }] },
      { overrides: { provider: fake } },
    );
    return { app, emulator: null, holdNext: () => fake.upcoming.push("hang") };
  },
  "unified relay upstream": upstream("unified", startUnifiedRelay, "unified-secret-0123"),
  "OpenAI-Videos upstream": upstream("openai", startOpenAiVideos, "openai-secret-0123"),
  // Seedance 1.0 pro makes the 1.0 series' documented sizes: 1920×1088 at 1080p 16:9, 1248×704 at 720p 16:9.
  "Seedance upstream": upstream("seedance", startSeedance, "ark-secret-0123", {
    asks: {
      model: "seedance-1.0-pro",
      unified: { orientation: "landscape", size: "large", duration: 5 },
      unifiedMakes: { width: 1920, height: 1088 },
      // Its own 1080p size: a 1280x720 ask is made at 1248×704, which the OpenAI view then reports.
      openai: { size: "1088x1920", seconds: "4" },
      openaiMakes: { width: 1088, height: 1920 },
      cancel: { model: "seedance-1.0-pro", orientation: "landscape", size: "small", duration: 12 },
    },
  }),
  "DashScope (Alibaba Wan) upstream": upstream("dashscope", startDashScope, "dashscope-secret-0123", {
    models: ["wan2.5"],
    asks: {
      model: "wan2.5",
      unified: { orientation: "landscape", size: "large", duration: 5 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "10" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "wan2.5", orientation: "portrait", size: "small", duration: 10 },
    },
  }),
  // Configured with the provider channel alone: its built-in model is offered, the sora-2 family is not.
  "Kling upstream": upstream("kling", startKling, "kling-secret-0123", { asks: KLING_ASKS }),
  "Gemini API (Veo) upstream": upstream("gemini", startGemini, "gemini-secret-0123", {
    models: ["veo-3.1"],
    asks: {
      model: "veo-3.1",
      unified: { orientation: "landscape", size: "large", duration: 8 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "4" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "veo-3.1", orientation: "portrait", size: "small", duration: 6 },
    },
  }),
  // Another new-api relay serving veo-3.1 under its Reelay name: 16:9 or 9:16, 720p or 1080p, 4/6/8 s.
  "new-api upstream": upstream("newapi", startNewApi, "sk-newapi-secret-0123", {
    models: ["veo-3.1"],
    asks: {
      model: "veo-3.1",
      unified: { orientation: "landscape", size: "large", duration: 8 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "4" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "veo-3.1", orientation: "portrait", size: "small", duration: 6 },
    },
  }),
  // hailuo-02 makes 16:9 text-to-video at 768P (1366×768) or 1080P (1920×1080); 1080P only at 6 s.
  "MiniMax upstream": upstream("minimax", startMiniMax, "minimax-secret-0123", {
    models: ["hailuo-02"],
    asks: {
      model: "hailuo-02",
      unified: { orientation: "landscape", size: "large", duration: 6 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1920x1080", seconds: "6" },
      openaiMakes: { width: 1920, height: 1080 },
      cancel: { model: "hailuo-02", orientation: "landscape", size: "small", duration: 10 },
    },
  }),
  // ray-2 makes 5 or 9 s at 540p–4k in seven aspect ratios (16:9 1080p is 1920×1080).
  "Luma upstream": upstream("luma", startLuma, "luma-secret-0123", {
    models: ["ray-2"],
    asks: {
      model: "ray-2",
      unified: { orientation: "landscape", size: "large", duration: 5 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "9" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "ray-2", orientation: "portrait", size: "small", duration: 9 },
    },
  }),
  // Grok Imagine makes no 1080p: its seed size is small (720p), 1280×720 at 16:9. xAI has no cancel.
  "xAI (Grok Imagine) upstream": upstream("xai", startXai, "xai-secret-0123", {
    models: ["grok-imagine-video"],
    asks: {
      model: "grok-imagine-video",
      unified: { orientation: "landscape", size: "small", duration: 6 },
      unifiedMakes: { width: 1280, height: 720 },
      openai: { size: "1280x720", seconds: "8" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "grok-imagine-video", orientation: "landscape", size: "small", duration: 15 },
    },
  }),
  // minimax/hailuo-02 on Replicate: 16:9 text-to-video, offered at 1080p (6 s) by the seed's sizes.
  "Replicate upstream": upstream("replicate", startReplicate, "replicate-secret-0123", {
    models: ["replicate-hailuo-02"],
    asks: {
      model: "replicate-hailuo-02",
      unified: { orientation: "landscape", size: "large", duration: 6 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1920x1080", seconds: "6" },
      openaiMakes: { width: 1920, height: 1080 },
      cancel: { model: "replicate-hailuo-02", orientation: "landscape", size: "large", duration: 6 },
    },
  }),
  // Veo 3.1 through Runway: ratio 1920:1080 at 1080p, 1280:720 at 720p; 4, 6 or 8 s.
  "Runway upstream": upstream("runway", startRunway, "key_runway_secret_0123", {
    models: ["runway-veo3.1"],
    asks: {
      model: "runway-veo3.1",
      unified: { orientation: "landscape", size: "large", duration: 8 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "4" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "runway-veo3.1", orientation: "portrait", size: "small", duration: 6 },
    },
  }),
  // Veo 3.1 through OpenRouter: 720p or 1080p, 16:9 or 9:16, 4/6/8 s; the provider channel alone.
  "OpenRouter upstream": upstream("openrouter", startOpenRouter, "openrouter-secret-0123", {
    models: ["openrouter-veo-3.1"],
    asks: {
      model: "openrouter-veo-3.1",
      unified: { orientation: "landscape", size: "large", duration: 8 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "4" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "openrouter-veo-3.1", orientation: "portrait", size: "small", duration: 6 },
    },
  }),
  // Wan 2.5 on fal's queue API: 1080p or 720p, 5 or 10 s; results on fal's CDN (another origin, allowed).
  "fal upstream": upstream("fal", startFal, "fal-secret-0123", {
    models: ["fal-wan-2.5"],
    env: (e) => ({ REELAY_IMAGE_ALLOW_HOSTS: e.cdnHost }),
    asks: {
      model: "fal-wan-2.5",
      unified: { orientation: "landscape", size: "large", duration: 5 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "10" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "fal-wan-2.5", orientation: "portrait", size: "small", duration: 10 },
    },
  }),
  "Vertex AI (Veo) upstream": upstream("vertex", startVertex, testServiceAccountKey(), {
    models: ["veo-3.1"],
    channel: (e) => ({ project: "reelay-test", location: "us-central1", tokenUrl: `${e.url}/token` }),
    asks: {
      model: "veo-3.1",
      unified: { orientation: "landscape", size: "large", duration: 8 },
      unifiedMakes: { width: 1920, height: 1080 },
      openai: { size: "1280x720", seconds: "4" },
      openaiMakes: { width: 1280, height: 720 },
      cancel: { model: "veo-3.1", orientation: "portrait", size: "small", duration: 6 },
    },
  }),
  // A self-hosted ComfyUI with a Wan 2.2 workflow (config-file model wan2.2-local): 720p or 1080p,
  // 16:9 or 9:16, 5 or 8 s; the workflow file lives in a temp dir removed with the emulator.
  "ComfyUI upstream": async () => {
    const emulator = await startComfyUi({ secret: "" });
    emulator.core.defaultBehaviour = { runMs: 800 };
    const wfDir = await mkdtemp(join(tmpdir(), "reelay-comfyui-contract-"));
    const workflowFile = join(wfDir, "wan22.json");
    await writeFile(workflowFile, JSON.stringify(WAN22_T2V_WORKFLOW));
    const app = await startWithChannels({
      channels: [
        {
          id: "up",
          kind: "comfyui",
          baseUrl: emulator.url,
          models: ["wan2.2-local"],
          workflowFile,
          workflowMap: WAN22_T2V_MAP,
          pollIntervalS: 0.1,
        },
      ],
      models: [
        {
          name: "wan2.2-local",
          family: "wan-local",
          sizes: ["small", "large"],
          durations: [5, 8],
          maxImages: 0,
          videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
          videoSeconds: [5, 8],
        },
      ],
    });
    return {
      app,
      emulator: {
        ...emulator,
        close: async () => {
          await emulator.close();
          await rm(wfDir, { recursive: true, force: true });
        },
      },
      holdNext: () => emulator.core.nextTask({ outcome: "never" }),
      asks: {
        model: "wan2.2-local",
        unified: { orientation: "landscape", size: "large", duration: 5 },
        unifiedMakes: { width: 1920, height: 1080 },
        openai: { size: "1280x720", seconds: "8" },
        openaiMakes: { width: 1280, height: 720 },
        cancel: { model: "wan2.2-local", orientation: "portrait", size: "small", duration: 8 },
      },
    };
  },
};

for (const [name, start] of Object.entries(SUBJECTS)) {
  describe(`provider contract: ${name}`, () => {
    let s: Subject;
    let key: string;
    let dir: string;
    let a: Asks = SORA_ASKS;
    beforeAll(async () => {
      s = await start();
      a = s.asks ?? SORA_ASKS;
      key = await s.app.newKey();
      dir = await mkdtemp(join(tmpdir(), "reelay-provider-contract-"));
    });
    afterAll(async () => {
      await s.app.close();
      await s.emulator?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("makes an H.264 MP4 at the asked size and length, served by Reelay's links with a JPEG thumbnail", async () => {
      const res = await s.app.request("/v1/video/create", {
        key,
        body: { model: a.model, prompt: "contract: a red kite", ...a.unified },
      });
      expect(res.status).toBe(200);
      const { id } = (await res.json()) as { id: string };
      const done = await waitForTask(s.app, key, id);
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(done).toMatchObject(a.unifiedMakes);
      const file = join(dir, "contract.mp4");
      await writeFile(file, Buffer.from(await (await fetch(String(done.video_url))).arrayBuffer()));
      const info = await ffprobe(file);
      const video = info.streams.find((x) => x.codecType === "video");
      expect(video).toMatchObject({ codecName: "h264", ...a.unifiedMakes });
      expect(info.durationS).toBeGreaterThan(a.unified.duration - 0.5);
      expect(info.durationS).toBeLessThan(a.unified.duration + 0.5);
      const thumb = Buffer.from(await (await fetch(String(done.thumbnail_url))).arrayBuffer());
      expect([thumb[0], thumb[1]]).toEqual([0xff, 0xd8]);
      if (s.callbacks) {
        // The provider was given the task's callback URL and its callback was taken.
        const taken = await pollUntil(
          () => s.emulator?.core.callbacks.filter((c) => c.status === 200 && c.taskId !== "") ?? [],
          (list) => list.length > 0,
          { what: "a provider callback taken", timeoutMs: 10_000 },
        );
        expect(taken.length).toBeGreaterThan(0);
      }
    });

    it("serves the same task through the OpenAI view, content included", async () => {
      const res = await s.app.request("/v1/videos", {
        key,
        body: { model: a.model, prompt: "contract: openai view", ...a.openai },
      });
      expect(res.status).toBe(200);
      const { id } = (await res.json()) as { id: string };
      await waitForTask(s.app, key, id);
      const v = (await (
        await s.app.request(`/v1/videos/${encodeURIComponent(id)}`, { key })
      ).json()) as Record<string, unknown>;
      expect(v).toMatchObject({ status: "completed", progress: 100, ...a.openai });
      const content = await s.app.request(`/v1/videos/${encodeURIComponent(id)}/content`, { key });
      expect(content.status).toBe(200);
      expect(content.headers.get("content-type")).toBe("video/mp4");
      const file = join(dir, "openai.mp4");
      await writeFile(file, Buffer.from(await content.arrayBuffer()));
      const info = await ffprobe(file);
      expect(info.streams.find((x) => x.codecType === "video")).toMatchObject(a.openaiMakes);
      expect(Math.round(info.durationS)).toBe(Number(a.openai.seconds));
    });

    it("cancels a running task for good", async () => {
      s.holdNext();
      const res = await s.app.request("/v1/video/create", {
        key,
        body: { prompt: "contract: cancel me", ...a.cancel },
      });
      const { id } = (await res.json()) as { id: string };
      await pollUntil(
        () => s.app.query(key, id),
        (q) => q.status === "processing" || q.status === "pending",
        { what: `task ${id} queued or running`, timeoutMs: 5000, intervalMs: 50 },
      );
      const cancel = await s.app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, {
        key,
        method: "POST",
      });
      expect(cancel.status).toBe(200);
      await sleep(1000); // long enough for a cancel that did not stick to show
      const q = await s.app.query(key, id);
      expect(q.status).toBe("cancelled");
      expect(q.video_url).toBeNull();
    });
  });
}
