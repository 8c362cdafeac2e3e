/**
 * One error taxonomy across providers, table-driven: for every provider kind, one Reelay with two
 * channels of that kind (`a` first, `b` second, both on the kind's emulator) and billing on. Each
 * kind's emulator fails a task the way that provider reports an internal error and a moderation
 * refusal; the class Reelay records (attempts[].error.class) decides the outcome through the one
 * table in core (src/core/upstream/taxonomy.ts): a class that fails over completes on `b` with the
 * failed attempt free; the request's classes fail the task (content_policy), are never sent to
 * `b`, and are refunded.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MODELS } from "../../src/core/catalogue/models.js";
import type { UpstreamKind } from "../../src/core/upstream/ports.js";
import { ERROR_CLASSES } from "../../src/core/upstream/taxonomy.js";
import { startComfyUi, WAN22_T2V_MAP, WAN22_T2V_WORKFLOW } from "../emulators/comfyui.js";
import type { Behaviour, RunningEmulator } from "../emulators/common.js";
import { startDashScope } from "../emulators/dashscope.js";
import { type FalEmulator, startFal } from "../emulators/fal.js";
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

const SECRET = "taxonomy-secret-0123456789";
const VERTEX_KEY = testServiceAccountKey();

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-taxonomy-"));
  await writeFile(join(dir, "t2v.json"), JSON.stringify(WAN22_T2V_WORKFLOW));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A self-hosted model for ComfyUI (the catalogue has none: a workflow is the operator's). */
const WAN_LOCAL = {
  name: "wan2.2-local",
  family: "wan-local",
  sizes: ["small", "large"],
  durations: [5, 8],
  maxImages: 0,
};

interface KindCase {
  readonly kind: UpstreamKind;
  readonly start: () => Promise<RunningEmulator>;
  /** The model asked for (default: the first catalogue model with an id at this kind). */
  readonly model?: string;
  readonly secret?: string;
  /** Channel settings the kind needs beyond id, kind, baseUrl, secretEnv and models. */
  readonly extra?: (url: string) => Record<string, unknown>;
  readonly models?: object[];
  /** How this provider reports its own internal failure of a running task. */
  readonly internal: Behaviour;
  /** The class that failure gets (default `upstream_internal`). */
  readonly internalClass?: keyof typeof ERROR_CLASSES;
  /** Environment the kind needs (hosts its results are fetched from). */
  readonly env?: (e: RunningEmulator) => Record<string, string>;
  /** How it reports a moderation refusal of a running task; null: it has no moderation. */
  readonly moderation: Behaviour | null;
}

const fail = (failCode: string | undefined, failMessage: string): Behaviour => ({
  outcome: "fail",
  runMs: 200,
  ...(failCode === undefined ? {} : { failCode }),
  failMessage,
});

const CASES: readonly KindCase[] = [
  {
    kind: "unified",
    start: () => startUnifiedRelay({ secret: SECRET }),
    model: "sora-2",
    internal: fail("internal_error", "the renderer crashed"),
    moderation: fail("content_policy_violation", "the prompt names a real person"),
  },
  {
    kind: "openai",
    start: () => startOpenAiVideos({ secret: SECRET }),
    model: "sora-2",
    internal: fail("server_error", "the renderer crashed"),
    moderation: fail("moderation_blocked", "the prompt names a real person"),
  },
  {
    kind: "seedance",
    start: () => startSeedance({ secret: SECRET }),
    internal: fail("InternalServiceError", "the renderer crashed"),
    moderation: fail("OutputVideoSensitiveContentDetected", "the output may contain sensitive information"),
  },
  {
    kind: "dashscope",
    start: () => startDashScope({ secret: SECRET }),
    internal: fail("InternalError", "the renderer crashed"),
    moderation: fail("DataInspectionFailed", "Output data may contain inappropriate content."),
  },
  {
    kind: "kling",
    start: () =>
      startKling({ secret: SECRET, accessKey: "ak-taxonomy", secretKey: "sk-taxonomy-0123456789" }),
    internal: fail(undefined, "the renderer crashed"),
    moderation: fail(undefined, "Failure to pass the risk control system"),
  },
  {
    kind: "gemini",
    start: () => startGemini({ secret: SECRET }),
    internal: fail("INTERNAL", "the renderer crashed"),
    moderation: fail("RAI_MEDIA_FILTERED", "filtered by responsible-AI"),
  },
  {
    kind: "minimax",
    start: () => startMiniMax({ secret: SECRET }),
    internal: fail("1000", "unknown error"),
    moderation: fail("1027", "output new_sensitive"),
  },
  {
    kind: "luma",
    start: () => startLuma({ secret: SECRET }),
    internal: fail(undefined, "the renderer crashed"),
    moderation: fail(undefined, "Frame moderation failed"),
  },
  {
    kind: "xai",
    start: () => startXai({ secret: SECRET }),
    internal: fail("internal_error", "the renderer crashed"),
    moderation: fail("content_moderation", "Generated video rejected by content moderation."),
  },
  {
    kind: "newapi",
    start: () => startNewApi({ secret: SECRET }),
    model: "veo-3.1",
    internal: fail(undefined, "the renderer crashed"),
    moderation: fail(undefined, "the output was blocked by the content policy"),
  },
  {
    kind: "replicate",
    start: () => startReplicate({ secret: SECRET }),
    internal: fail(undefined, "CUDA error: an illegal memory access was encountered"),
    moderation: fail(undefined, "NSFW content detected. Try running it again, or try a different prompt."),
  },
  {
    kind: "runway",
    start: () => startRunway({ secret: SECRET }),
    internal: fail("INTERNAL.BAD_OUTPUT.CODE01", "An unexpected error occurred."),
    moderation: fail("SAFETY.OUTPUT.VIDEO", "The output did not pass content moderation."),
  },
  {
    kind: "openrouter",
    start: () => startOpenRouter({ secret: SECRET }),
    internal: fail(undefined, "the renderer crashed"),
    moderation: fail(undefined, "The provider's content moderation flagged the generated video"),
  },
  {
    kind: "fal",
    start: () => startFal({ secret: SECRET }),
    // Results come from the emulator's CDN host, which the operator allows.
    env: (e) => ({ REELAY_IMAGE_ALLOW_HOSTS: (e as FalEmulator).cdnHost }),
    internal: fail("internal_server_error", "the renderer crashed"),
    moderation: fail("content_policy_violation", "output flagged"),
  },
  {
    kind: "vertex",
    start: () => startVertex({ secret: VERTEX_KEY }),
    model: "veo-3.1",
    secret: VERTEX_KEY,
    extra: (url) => ({ project: "reelay-test", location: "us-central1", tokenUrl: `${url}/token` }),
    internal: fail("INTERNAL", "the renderer crashed"),
    moderation: fail("RAI_MEDIA_FILTERED", "filtered by responsible-AI"),
  },
  {
    kind: "comfyui",
    start: () => startComfyUi({ secret: SECRET }),
    model: WAN_LOCAL.name,
    models: [WAN_LOCAL],
    extra: () => ({ workflowFile: join(dir, "t2v.json"), workflowMap: WAN22_T2V_MAP }),
    // Out of GPU memory: the machine is busy, a passing fault of the channel's.
    internal: fail("torch.OutOfMemoryError", "Allocation on device"),
    internalClass: "overloaded",
    // A self-hosted ComfyUI has no moderation of its own.
    moderation: null,
  },
];

interface Attempt {
  channel: string;
  outcome: string;
  credits: number;
  error: { class: keyof typeof ERROR_CLASSES; code: string | null; message: string } | null;
}

/** The request a kind's model takes: its first size and duration (a landscape video). */
function bodyFor(model: string) {
  const m = [...DEFAULT_MODELS, WAN_LOCAL].find((x) => x.name === model);
  if (!m) throw new Error(`no model ${model}`);
  return {
    model,
    prompt: "a paper boat on a canal",
    orientation: "landscape",
    size: m.sizes[0],
    duration: m.durations[0],
  };
}

const modelFor = (c: KindCase): string => {
  const m = c.model ?? DEFAULT_MODELS.find((x) => x.upstream?.[c.kind] !== undefined)?.name;
  if (!m) throw new Error(`no catalogue model for ${c.kind}`);
  return m;
};

describe.each(CASES)("error taxonomy: $kind", (c) => {
  let emu: RunningEmulator;
  let s: ChannelApp;
  const model = modelFor(c);
  beforeAll(async () => {
    emu = await c.start();
    emu.core.defaultBehaviour = { runMs: 200, outcome: "complete" };
    const extra = c.extra?.(emu.url) ?? {};
    s = await startWithChannels(
      {
        channels: [
          channel("a", c.kind, emu.url, { priority: 10, models: [model], ...extra }),
          channel("b", c.kind, emu.url, { priority: 0, models: [model], ...extra }),
        ],
        pricing: { perSecond: { [model]: 1 } },
        ...(c.models ? { models: c.models } : {}),
      },
      {
        env: {
          ...secretEnv("a", c.secret ?? SECRET),
          ...secretEnv("b", c.secret ?? SECRET),
          ...c.env?.(emu),
        },
      },
    );
  });
  afterAll(async () => {
    await s?.close();
    await emu?.close();
  });

  /** Runs one task whose first attempt behaves as `first`; its end, attempts and the owner's balance. */
  async function run(first: Behaviour) {
    const owner = `o-${c.kind}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const key = await s.newKey(owner);
    await s.request(`/admin/accounts/${owner}/credits`, { key: s.adminToken, body: { amount: 1000 } });
    emu.core.nextTask(first);
    const res = await s.request("/v1/video/create", { key, body: bodyFor(model) });
    const created = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(created)).toBe(200);
    const done = await waitForTask(s, key, created.id);
    const attempts = (await s.query(key, created.id)).attempts as Attempt[];
    const account = (await (await s.request(`/admin/accounts/${owner}`, { key: s.adminToken })).json()) as {
      balance: number;
    };
    return { done, attempts, balance: account.balance };
  }

  it("an internal failure is classed as the provider's (or the channel's) and fails over: completed on b, the failed attempt free", async () => {
    const { done, attempts, balance } = await run(c.internal);
    const first = attempts[0];
    const cls = c.internalClass ?? "upstream_internal";
    expect(first?.error?.class, JSON.stringify(attempts)).toBe(cls);
    expect(ERROR_CLASSES[cls].failover).toBe(true);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    expect(attempts.map((t) => [t.channel, t.outcome])).toEqual([
      ["a", "failed"],
      ["b", "completed"],
    ]);
    expect(first?.credits).toBe(0);
    expect(balance).toBe(1000 - (attempts[1]?.credits ?? Number.NaN));
  });

  it.skipIf(c.moderation === null)(
    "a moderation refusal is content_policy: failed, never sent to b, refunded",
    async () => {
      const creates = () =>
        emu.core.requests.filter((r) => r.route === "create" || r.method === "POST").length;
      const before = creates();
      const { done, attempts, balance } = await run(c.moderation as Behaviour);
      expect(attempts.map((t) => [t.channel, t.outcome, t.error?.class])).toEqual([
        ["a", "failed", "content_policy"],
      ]);
      expect(ERROR_CLASSES.content_policy.failover).toBe(false);
      expect(done.status).toBe("failed");
      expect(done.error).toMatchObject({ code: ERROR_CLASSES.content_policy.code });
      expect(balance).toBe(1000);
      // Only a's create reached the provider (the polls and downloads are GETs).
      expect(creates() - before).toBeGreaterThanOrEqual(1);
      expect(attempts).toHaveLength(1);
    },
  );
});
