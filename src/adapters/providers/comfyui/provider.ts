/**
 * A self-hosted ComfyUI server (open video models on the operator's GPUs), no auth by default
 * (the channel's secret, when set, goes as Bearer for a proxy in front):
 * - images  `POST /upload/image` (multipart `image`, `overwrite`) → `{name, subfolder, type}`,
 *   the name written into the mapped LoadImage node's `image` input;
 * - queue   `POST /prompt {prompt: <workflow>, client_id}` → `{prompt_id, number, node_errors}`
 *   (400 `{error, node_errors}` for a workflow ComfyUI refuses: invalid_request);
 * - follow  `GET /history/{prompt_id}` (`{}` until it ends; then `status.status_str` "success" or
 *   "error" and `outputs[node].images|gifs|videos`), `GET /queue` for queued vs running;
 * - result  `GET /view?filename=&subfolder=&type=output`, through `http.download` (MP4 only);
 * - cancel  `POST /queue {delete: [prompt_id]}` while queued, `POST /interrupt {prompt_id}` while
 *   running.
 * Progress: ComfyUI reports it only as `/ws?clientId=` events, to the client that queued the prompt
 * (`client_id`). One socket per channel (socket.ts) feeds a per-prompt state (progress.ts): polls
 * take progress and "running" from it, and an ending it hears is passed to `onChange` so the
 * gateway can poll at once. Endings are still read from `/history/{prompt_id}` alone (a missed or
 * forged event ends nothing); with the socket down, polling works exactly as without it.
 * ComfyUI has no moderation and no idempotency key; outputs stay on the server's disk until the
 * operator deletes them (the history is kept in memory, up to 10 000 prompts).
 *
 * Sources: comfyanonymous/ComfyUI `server.py` (routes `/prompt`, `/queue`, `/interrupt`,
 * `/history/{prompt_id}`, `/upload/image`, `/view`), `execution.py` (history status and
 * messages), `script_examples/websockets_api_example.py` and `basic_api_example.py`.
 */
import { randomInt, randomUUID } from "node:crypto";
import { openAsBlob } from "node:fs";
import { join } from "node:path";
import { errors } from "../../../core/errors.js";
import { aspectRatioOf, resolutionOf } from "../../../core/tasks/task.js";
import type { UpstreamProvider, UpstreamStatus } from "../../../core/upstream/ports.js";
import type { ImageFetcher } from "../../net/safe-fetch.js";
import type { ChannelHttp } from "../upstream/http.js";
import { type InputImage, imagesByRole } from "../upstream/images.js";
import { obj, str } from "../upstream/status.js";
import { pickVideo, promptRefusal, queuePlace, readHistory, viewPath } from "./mapping.js";
import { createPromptTracker, type LiveView } from "./progress.js";
import { createComfySocket } from "./socket.js";
import { type ComfyWorkflow, dimensions, fillWorkflow, type WorkflowMap } from "./workflow.js";

export interface ComfyChannelWorkflow {
  readonly workflow: ComfyWorkflow;
  readonly map: WorkflowMap;
}

/** How the adapter reaches the server's `/ws` (none: it polls `/history` alone). */
export interface ComfyLiveOptions {
  /** The channel's base URL; the socket is `/ws` beside the other routes. */
  readonly baseUrl: string;
  /** The channel's credential headers, as its HTTP calls send them. */
  readonly headers: () => Record<string, string>;
  readonly connectTimeoutMs: number;
  /** Called with a prompt id when the server says it ended: the gateway may poll it now. */
  readonly onChange?: (upstreamId: string) => void;
  /** Reconnect delays (first, cap); tests shorten them. */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
}

const status = (
  state: UpstreamStatus["state"],
  raw: string | null,
  known = true,
  error: UpstreamStatus["error"] = null,
  progress: number | null = null,
): UpstreamStatus => ({ state, raw, known, progress, error, enhancedPrompt: null });

export function createComfyUiProvider(
  http: ChannelHttp,
  fetcher: ImageFetcher,
  flow: ComfyChannelWorkflow,
  live?: ComfyLiveOptions,
): UpstreamProvider {
  // Stable for the adapter's life: ComfyUI sends a prompt's events to the client id it was queued with.
  const clientId = randomUUID();
  const prompts = createPromptTracker({ nodes: new Set(Object.keys(flow.workflow)), now: Date.now });
  const socket = live
    ? createComfySocket({
        baseUrl: live.baseUrl,
        clientId,
        headers: live.headers,
        connectTimeoutMs: live.connectTimeoutMs,
        ...(live.backoff ? { backoff: live.backoff } : {}),
        wanted: () => prompts.waiting() > 0,
        onReopen: () => prompts.reconnected(),
        onMessage(message) {
          const ended = prompts.apply(message);
          if (ended === null) return;
          try {
            live.onChange?.(ended);
          } catch {
            // A hint only (polling follows the task anyway): a failing listener must not end the socket.
          }
        },
      })
    : null;
  /** The events' word on a prompt, only while the socket is open (else they may be stale). */
  const heard = (promptId: string): LiveView | null => (socket?.open ? prompts.view(promptId) : null);

  /** Uploads one image (a link fetched through the SSRF guard first) and returns its LoadImage name. */
  async function upload(
    image: InputImage,
    name: string,
    workDir: string,
    signal: AbortSignal,
  ): Promise<string> {
    let path = image.file;
    if (image.url !== null) {
      path = join(workDir, name);
      await fetcher.fetchTo(image.url, path, { index: 0, signal });
    }
    if (path === null) throw new Error("an image with neither link nor file");
    const form = new FormData();
    form.set("image", await openAsBlob(path), name);
    form.set("overwrite", "true");
    const res = await http.call("POST", "upload/image", { phase: "submit", form, signal });
    if (res.status < 200 || res.status > 299) throw http.refusal(res, "submit");
    const b = obj(res.json);
    const saved = str(b.name);
    if (!saved)
      throw errors.upstreamRejected(
        http.channelId,
        { status: res.status, code: null, message: "ComfyUI's image upload answered without a name" },
        { retryable: true },
      );
    const sub = str(b.subfolder);
    return sub ? `${sub}/${saved}` : saved;
  }

  return {
    kind: "comfyui",
    // ComfyUI queues every POST /prompt anew: a create whose answer was lost is not sent again.
    idempotent: false,
    async submit(request, ctx) {
      const images = imagesByRole(request, ctx);
      const stamp = ctx.taskId.replace(/[^A-Za-z0-9_-]/g, "");
      const firstFrame =
        images.firstFrame && flow.map.inputs.firstFrame
          ? await upload(images.firstFrame, `reelay-${stamp}-first.png`, ctx.workDir, ctx.signal)
          : undefined;
      const lastFrame =
        images.lastFrame && flow.map.inputs.lastFrame
          ? await upload(images.lastFrame, `reelay-${stamp}-last.png`, ctx.workDir, ctx.signal)
          : undefined;
      if ((images.firstFrame && !firstFrame) || (images.lastFrame && !lastFrame))
        throw errors.upstreamRejected(
          http.channelId,
          {
            status: null,
            code: "unsupported",
            message: "this ComfyUI channel's workflowMap has no LoadImage for the given frame",
          },
          { retryable: false },
        );
      const { width, height } = dimensions(aspectRatioOf(request), resolutionOf(request));
      const prompt = fillWorkflow(flow.workflow, flow.map, {
        prompt: request.prompt,
        ...(request.negativePrompt !== undefined ? { negativePrompt: request.negativePrompt } : {}),
        seed: request.seed ?? randomInt(0, 2 ** 47),
        width,
        height,
        seconds: request.duration,
        ...(firstFrame ? { firstFrame } : {}),
        ...(lastFrame ? { lastFrame } : {}),
      });
      // Open before the first prompt is queued, so its first events are heard (waits at most the
      // connect timeout, and not at all while a reconnect is pending).
      await socket?.ensure(live?.connectTimeoutMs ?? 0);
      const res = await http.call("POST", "prompt", {
        phase: "submit",
        json: { prompt, client_id: clientId },
        signal: ctx.signal,
      });
      if (res.status === 400) {
        const why = promptRefusal(res.json);
        if (why)
          throw errors.upstreamRejected(
            http.channelId,
            { status: 400, code: why.code, message: why.message },
            { retryable: false },
          );
      }
      if (res.status < 200 || res.status > 299) throw http.refusal(res, "submit");
      const id = str(obj(res.json).prompt_id);
      if (!id)
        throw errors.upstreamOutcomeUnknown(
          http.channelId,
          `a ${res.status} answer without a prompt_id`,
          false,
        );
      prompts.track(id);
      return { upstreamId: id, status: status("queued", null) };
    },
    async poll(upstreamId, signal) {
      const res = await http.call("GET", `history/${encodeURIComponent(upstreamId)}`, {
        phase: "poll",
        signal,
      });
      if (res.status < 200 || res.status > 299 || res.json === undefined) throw http.refusal(res, "poll");
      const h = readHistory(res.json, upstreamId, flow.map.output);
      const ws = heard(upstreamId);
      const progress = ws?.progress ?? null;
      if (h.state === "completed" || h.state === "failed") {
        prompts.forget(upstreamId);
        return { status: status(h.state, h.raw, h.known, h.error), retryAfterS: null };
      }
      if (h.state !== null)
        return { status: status(h.state, h.raw, h.known, h.error, progress), retryAfterS: null };
      // Not in the history yet. Events say it runs (even one that says it ended: until the history
      // shows it, it has not); else the queue says whether it waits or runs.
      if (ws?.started)
        return { status: status("running", "running", true, null, progress), retryAfterS: null };
      const q = await http.call("GET", "queue", { phase: "poll", signal });
      if (q.status < 200 || q.status > 299 || q.json === undefined) throw http.refusal(q, "poll");
      const place = queuePlace(q.json, upstreamId);
      // Absent from both (the server restarted, or the history was cleared): unknown, still followed
      // until the task's deadline.
      return {
        status: place === null ? status("running", null, false) : status(place, place, true, null, progress),
        retryAfterS: null,
      };
    },
    async fetchResult(upstreamId, workDir, signal) {
      const res = await http.call("GET", `history/${encodeURIComponent(upstreamId)}`, {
        phase: "poll",
        signal,
      });
      if (res.status < 200 || res.status > 299) throw http.refusal(res, "poll");
      const h = readHistory(res.json, upstreamId, flow.map.output);
      const video = pickVideo(h.files, flow.map.output);
      if (typeof video === "string") throw errors.upstreamBadContent(http.channelId, video, false);
      const videoPath = join(workDir, "upstream.mp4");
      await http.download(viewPath(video), videoPath, { expect: "video", signal });
      return { videoPath, thumbnailPath: null, watermarked: false };
    },
    async cancel(upstreamId, signal) {
      prompts.forget(upstreamId);
      const q = await http.call("GET", "queue", { phase: "cancel", signal });
      const place = queuePlace(q.json, upstreamId);
      if (place === "queued")
        await http.call("POST", "queue", { phase: "cancel", json: { delete: [upstreamId] }, signal });
      else if (place === "running")
        await http.call("POST", "interrupt", { phase: "cancel", json: { prompt_id: upstreamId }, signal });
    },
    async close() {
      await socket?.close();
    },
  };
}
