/**
 * The comfyui adapter's /ws side against the emulated server (test/emulators/comfyui_ws.ts): poll
 * takes progress and "running" from the events while the socket is open, an ending is passed to
 * `onChange`, the history alone decides completion (a forged ending changes nothing), and with the
 * socket refused or cut the adapter polls as it does without one, then reconnects.
 */
import { describe, expect, it } from "vitest";
import { createImageFetcher } from "../../src/adapters/net/safe-fetch.js";
import { createComfyUiProvider } from "../../src/adapters/providers/comfyui/provider.js";
import { wsUrlOf } from "../../src/adapters/providers/comfyui/socket.js";
import { parseWorkflow, readWorkflowMap } from "../../src/adapters/providers/comfyui/workflow.js";
import type { UpstreamProvider, UpstreamStatus } from "../../src/core/upstream/ports.js";
import {
  type ComfyUiEmulator,
  startComfyUi,
  WAN22_T2V_MAP,
  WAN22_T2V_WORKFLOW,
} from "../emulators/comfyui.js";
import { closedAfterEach, scratchDir, testChannelHttp } from "../helpers/provider-e2e.js";
import { textToVideo } from "../helpers/video-request.js";
import { pollUntil, waitFor, waitUntil } from "../helpers/wait.js";

const SECRET = "comfy-proxy-live-0123456789";
const running = closedAfterEach();
const scratch = scratchDir("reelay-comfyui-live-");
const REQUEST = textToVideo({ model: "wan2.2-local", family: "wan-local" });

async function emulator(runMs: number, secret = SECRET): Promise<ComfyUiEmulator> {
  const e = await startComfyUi({ secret });
  e.core.defaultBehaviour = { runMs };
  running.push(e);
  return e;
}

/** The adapter as the wiring builds it, with `onChange` recording what it is told. */
function adapter(e: ComfyUiEmulator, opts: { secret?: string; live?: boolean } = {}) {
  const secret = opts.secret ?? SECRET;
  const workflow = parseWorkflow(WAN22_T2V_WORKFLOW);
  if (typeof workflow === "string") throw new Error(workflow);
  const map = readWorkflowMap(workflow, WAN22_T2V_MAP);
  if (typeof map === "string") throw new Error(map);
  const http = testChannelHttp(running, e.url, secret);
  const changed: string[] = [];
  const fetcher = createImageFetcher({ allowHosts: [], maxBytes: 1e6, timeoutMs: 1000, maxRedirects: 0 });
  const provider = createComfyUiProvider(
    http,
    fetcher,
    { workflow, map },
    opts.live === false
      ? undefined
      : {
          baseUrl: e.url,
          headers: () => ({ authorization: `Bearer ${secret}` }),
          connectTimeoutMs: 1000,
          backoff: { baseMs: 50, maxMs: 200 },
          onChange: (id) => changed.push(id),
        },
  );
  running.push({ close: async () => provider.close?.() });
  return { provider, changed };
}

const signal = new AbortController().signal;
async function submit(p: UpstreamProvider): Promise<string> {
  const ctx = {
    taskId: `t${Date.now()}`,
    upstreamModel: "wan",
    imageFiles: [],
    workDir: scratch.path,
    signal,
  };
  return (await p.submit(REQUEST, ctx)).upstreamId;
}

/** Polls until the prompt ends, returning every status seen. */
async function follow(p: UpstreamProvider, id: string): Promise<UpstreamStatus[]> {
  const seen: UpstreamStatus[] = [];
  await waitFor(
    async () => {
      const { status } = await p.poll(id, signal);
      seen.push(status);
      return status.state;
    },
    (s) => s === "completed" || s === "failed",
    { what: `prompt ${id} ended`, timeoutMs: 20_000, intervalMs: 40 },
  );
  return seen;
}

const queueCalls = (e: ComfyUiEmulator) => e.core.requests.filter((r) => r.route === "GET /queue").length;
const progressOf = (seen: UpstreamStatus[]) =>
  seen.filter((s) => s.state === "running").map((s) => s.progress ?? 0);

describe("comfyui /ws: events while the socket is open", () => {
  it("reports rising progress from the events, running without asking /queue, and tells onChange once it ends", async () => {
    const e = await emulator(2500);
    const { provider, changed } = adapter(e);
    const id = await submit(provider);
    expect(e.ws.clients()).toEqual([e.prompts[0]?.clientId]);
    // Polled while it runs, until the events have moved the figure three times.
    const seen: UpstreamStatus[] = [];
    await waitFor(
      async () => {
        seen.push((await provider.poll(id, signal)).status);
        return new Set(progressOf(seen).filter((p) => p > 0 && p < 100)).size;
      },
      (n) => n >= 3,
      { what: "three progress figures", timeoutMs: 10_000, intervalMs: 40 },
    );
    const progress = progressOf(seen);
    // Rising: never lower than before.
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(seen.every((s) => s.state === "queued" || s.state === "running")).toBe(true);
    // Once the events said it runs, the queue was not asked again.
    const queued = seen.filter((s) => s.raw === "queued").length;
    expect(queueCalls(e)).toBeLessThanOrEqual(queued + 1);
    // No more polling: the ending comes through onChange, and a poll then finds it in the history.
    await waitUntil(() => changed.includes(id), { what: "onChange told", timeoutMs: 10_000, intervalMs: 20 });
    const { status } = await provider.poll(id, signal);
    expect(status.state).toBe("completed");
    // The socket carries the channel's credential (the proxy in front answers 401 without it).
    expect(e.core.requests.find((r) => r.route === "GET /ws")?.auth).toBe(`Bearer ${SECRET}`);
  });

  it("tells onChange of a failure, which the history then reports with its reason", async () => {
    const e = await emulator(800);
    e.core.nextTask({ outcome: "fail", runMs: 800, failCode: "torch.OutOfMemoryError" });
    const { provider, changed } = adapter(e);
    const id = await submit(provider);
    await waitUntil(() => changed.includes(id), { what: "onChange told", timeoutMs: 10_000, intervalMs: 20 });
    const { status } = await provider.poll(id, signal);
    expect(status).toMatchObject({ state: "failed", error: { code: "torch.OutOfMemoryError" } });
  });

  it("never completes a prompt on a forged success the history does not show", async () => {
    const e = await emulator(1000);
    e.core.nextTask({ outcome: "never" });
    const { provider, changed } = adapter(e);
    const id = await submit(provider);
    const clientId = e.prompts[0]?.clientId ?? null;
    e.ws.send(clientId, "execution_success", { prompt_id: id, timestamp: Date.now() });
    e.ws.send(clientId, "executing", { node: null, prompt_id: id });
    await waitUntil(() => changed.includes(id), {
      what: "the forged ending heard",
      timeoutMs: 5000,
      intervalMs: 20,
    });
    for (let i = 0; i < 5; i++) {
      const { status } = await provider.poll(id, signal);
      expect(status.state).toBe("running");
      expect(status.progress ?? 0).toBeLessThan(100);
    }
  });

  it("ignores binary frames and events of prompts it did not queue", async () => {
    const e = await emulator(600);
    const { provider } = adapter(e);
    const id = await submit(provider);
    const clientId = e.prompts[0]?.clientId ?? null;
    e.ws.send(clientId, "preview", {});
    e.ws.send(clientId, "execution_success", { prompt_id: "someone-else" });
    expect((await follow(provider, id)).at(-1)?.state).toBe("completed");
  });
});

describe("comfyui /ws: socket refused or cut", () => {
  it("with the socket refused, polls /history and /queue as without one (no progress) and completes", async () => {
    const e = await emulator(1200);
    e.ws.refuse = true;
    const { provider, changed } = adapter(e);
    const id = await submit(provider);
    const seen = await follow(provider, id);
    expect(seen.at(-1)?.state).toBe("completed");
    expect(progressOf(seen).every((p) => p === 0)).toBe(true);
    // Every poll before the end asked the queue.
    expect(queueCalls(e)).toBe(seen.length - 1);
    expect(changed).toEqual([]);
    expect(e.ws.connections).toBe(0);
  });

  it("falls back to polling when the socket is cut mid-task, and reconnects once it can", async () => {
    const e = await emulator(4000);
    const { provider } = adapter(e);
    const id = await submit(provider);
    const running = await pollUntil(
      async () => (await provider.poll(id, signal)).status,
      (s) => (s.progress ?? 0) > 0,
      { what: "progress from the events", timeoutMs: 10_000, intervalMs: 40 },
    );
    expect(running.progress).toBeGreaterThan(0);
    e.ws.refuse = true;
    e.ws.drop();
    await waitUntil(async () => (await provider.poll(id, signal)).status.progress === null, {
      what: "polls without the socket",
      timeoutMs: 5000,
      intervalMs: 20,
    });
    const before = queueCalls(e);
    await provider.poll(id, signal);
    expect(queueCalls(e)).toBe(before + 1);
    e.ws.refuse = false;
    await waitUntil(() => e.ws.clients().length === 1, {
      what: "reconnected",
      timeoutMs: 5000,
      intervalMs: 20,
    });
    expect(e.ws.connections).toBe(2);
    expect((await follow(provider, id)).at(-1)?.state).toBe("completed");
  });

  it("without the proxy's credential the socket is refused (401) and polling carries on", async () => {
    const e = await emulator(600);
    const { provider, changed } = adapter(e, { secret: "wrong-token-0123456789" });
    // The HTTP calls carry the wrong token too: the proxy refuses the create as well.
    await expect(submit(provider)).rejects.toThrow();
    expect(e.ws.connections).toBe(0);
    expect(changed).toEqual([]);
  });

  it("opens no socket without live options, and close() ends the socket", async () => {
    const e = await emulator(400);
    const plain = adapter(e, { live: false });
    expect((await follow(plain.provider, await submit(plain.provider))).at(-1)?.state).toBe("completed");
    expect(e.ws.connections).toBe(0);
    const { provider } = adapter(e);
    await submit(provider);
    expect(e.ws.clients()).toHaveLength(1);
    await provider.close?.();
    await waitUntil(() => e.ws.clients().length === 0, {
      what: "socket closed",
      timeoutMs: 5000,
      intervalMs: 20,
    });
  });

  it("builds the socket URL beside the channel's routes (path prefix kept, https → wss)", () => {
    expect(wsUrlOf("http://gpu-1:8188", "c1")).toBe("ws://gpu-1:8188/ws?clientId=c1");
    expect(wsUrlOf("https://proxy.example/comfy/", "c 2")).toBe("wss://proxy.example/comfy/ws?clientId=c+2");
  });
});
