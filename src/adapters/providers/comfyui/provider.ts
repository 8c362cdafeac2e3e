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
 * Progress: ComfyUI reports it only as `/ws?clientId=` `progress` events; no WebSocket client is in
 * Reelay's dependencies, so progress stays unknown and the history is polled instead.
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
import { type ComfyWorkflow, dimensions, fillWorkflow, type WorkflowMap } from "./workflow.js";

export interface ComfyChannelWorkflow {
  readonly workflow: ComfyWorkflow;
  readonly map: WorkflowMap;
}

const status = (
  state: UpstreamStatus["state"],
  raw: string | null,
  known = true,
  error: UpstreamStatus["error"] = null,
): UpstreamStatus => ({ state, raw, known, progress: null, error, enhancedPrompt: null });

export function createComfyUiProvider(
  http: ChannelHttp,
  fetcher: ImageFetcher,
  flow: ComfyChannelWorkflow,
): UpstreamProvider {
  const clientId = randomUUID();

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
      return { upstreamId: id, status: status("queued", null) };
    },
    async poll(upstreamId, signal) {
      const res = await http.call("GET", `history/${encodeURIComponent(upstreamId)}`, {
        phase: "poll",
        signal,
      });
      if (res.status < 200 || res.status > 299 || res.json === undefined) throw http.refusal(res, "poll");
      const h = readHistory(res.json, upstreamId, flow.map.output);
      if (h.state !== null) return { status: status(h.state, h.raw, h.known, h.error), retryAfterS: null };
      // Not in the history yet: the queue says whether it waits or runs.
      const q = await http.call("GET", "queue", { phase: "poll", signal });
      if (q.status < 200 || q.status > 299 || q.json === undefined) throw http.refusal(q, "poll");
      const place = queuePlace(q.json, upstreamId);
      // Absent from both (the server restarted, or the history was cleared): unknown, still followed
      // until the task's deadline.
      return {
        status: place === null ? status("running", null, false) : status(place, place),
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
      const q = await http.call("GET", "queue", { phase: "cancel", signal });
      const place = queuePlace(q.json, upstreamId);
      if (place === "queued")
        await http.call("POST", "queue", { phase: "cancel", json: { delete: [upstreamId] }, signal });
      else if (place === "running")
        await http.call("POST", "interrupt", { phase: "cancel", json: { prompt_id: upstreamId }, signal });
    },
  };
}
