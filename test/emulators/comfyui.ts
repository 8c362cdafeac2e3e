/**
 * An emulated ComfyUI server, answering the routes as ComfyUI's `server.py` does:
 * - `POST /upload/image` (multipart `image`, `overwrite`, `subfolder`, `type`) → `{name, subfolder,
 *   type}` (400 without an image);
 * - `POST /prompt {prompt, client_id}` → `{prompt_id, number, node_errors: {}}`; a graph ComfyUI's
 *   `validate_prompt` refuses → 400 `{error: {type, message, details, extra_info}, node_errors}`
 *   (a node without `class_type`, an unknown class, a link to a missing node, no output node, a
 *   LoadImage naming a file never uploaded, a width/height/length that is not an integer);
 * - `GET /queue` → `{queue_running: [[number, prompt_id, prompt, extra_data, outputs]…],
 *   queue_pending: […]}`; `POST /queue {delete: [ids]}` → 200 (empty body);
 * - `POST /interrupt` (optionally `{prompt_id}`: only that prompt) → 200 (the running prompt ends
 *   with `execution_interrupted`);
 * - `GET /history/{prompt_id}` → `{}` until the prompt ends, then `{<id>: {prompt, outputs,
 *   status: {status_str: "success"|"error", completed, messages}, meta}}`;
 * - `GET /view?filename=&subfolder=&type=` → the file (404 once the operator deleted it).
 * "Running" a prompt reads the latent node's `width`, `height`, `length` (frames) and the `fps` of
 * the output (or CreateVideo) node from the submitted graph, and makes a real MP4 of
 * (length − 1) / fps seconds. SaveVideo answers `images` + `animated`, VHS_VideoCombine `gifs`,
 * SaveAnimatedWEBP a `.webp` (not a video). ComfyUI has no auth: with a non-empty secret the
 * emulator plays an auth proxy in front (401 without the Bearer token).
 * `GET /ws?clientId=` streams each prompt's events to the client that queued it (comfyui_ws.ts).
 * Scriptable: `core.fault(route, …)`, `core.nextTask({outcome: "fail", failCode, failMessage})` (an
 * `execution_error` in the history, e.g. `torch.OutOfMemoryError`), `queueMs` (a slow queue),
 * `nextNodeError` (the next prompt refused with a node error), `deleteOutputs()`, and `ws`
 * (`refuse`, `drop()`, `send()`: the socket refused, cut, or carrying forged events).
 *
 * Sources: comfyanonymous/ComfyUI `server.py`, `execution.py` (`validate_prompt`, history status
 * messages), `script_examples/basic_api_example.py`, `websockets_api_example.py`.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ComfyWsControl, createComfyWs } from "./comfyui_ws.js";
import {
  applyFault,
  type EmulatedTask,
  EmulatorCore,
  listen,
  type RunningEmulator,
  readBody,
  sendFile,
  sendJson,
} from "./common.js";

/** A small Wan 2.2 TI2V 5B text-to-video workflow in ComfyUI's API format. */
export const WAN22_T2V_WORKFLOW = {
  "1": {
    class_type: "UNETLoader",
    inputs: { unet_name: "wan2.2_ti2v_5B_fp16.safetensors", weight_dtype: "default" },
  },
  "2": {
    class_type: "CLIPLoader",
    inputs: { clip_name: "umt5_xxl_fp8_e4m3fn_scaled.safetensors", type: "wan", device: "default" },
  },
  "3": { class_type: "VAELoader", inputs: { vae_name: "wan2.2_vae.safetensors" } },
  "4": { class_type: "CLIPTextEncode", inputs: { text: "", clip: ["2", 0] } },
  "5": { class_type: "CLIPTextEncode", inputs: { text: "blurry, static", clip: ["2", 0] } },
  "6": {
    class_type: "Wan22ImageToVideoLatent",
    inputs: { vae: ["3", 0], width: 1280, height: 704, length: 121, batch_size: 1 },
  },
  "7": {
    class_type: "KSampler",
    inputs: {
      model: ["1", 0],
      positive: ["4", 0],
      negative: ["5", 0],
      latent_image: ["6", 0],
      seed: 0,
      steps: 20,
      cfg: 5,
      sampler_name: "uni_pc",
      scheduler: "simple",
      denoise: 1,
    },
  },
  "8": { class_type: "VAEDecode", inputs: { samples: ["7", 0], vae: ["3", 0] } },
  "9": { class_type: "CreateVideo", inputs: { images: ["8", 0], fps: 24 } },
  "10": {
    class_type: "SaveVideo",
    inputs: { video: ["9", 0], filename_prefix: "video/reelay", format: "mp4", codec: "h264" },
  },
};
/** Where Reelay's inputs go in WAN22_T2V_WORKFLOW (a channel's `workflowMap`). */
export const WAN22_T2V_MAP = {
  prompt: "4.inputs.text",
  negativePrompt: "5.inputs.text",
  seed: "7.inputs.seed",
  width: "6.inputs.width",
  height: "6.inputs.height",
  length: "6.inputs.length",
  fps: 24,
  output: "10",
};

/** Node classes the emulated server has (a small Wan 2.2 set plus the output nodes). */
const CLASSES = new Set([
  "CheckpointLoaderSimple",
  "UNETLoader",
  "CLIPLoader",
  "VAELoader",
  "CLIPTextEncode",
  "KSampler",
  "KSamplerAdvanced",
  "ModelSamplingSD3",
  "VAEDecode",
  "LoadImage",
  "EmptyHunyuanLatentVideo",
  "Wan22ImageToVideoLatent",
  "WanImageToVideo",
  "WanFirstLastFrameToVideo",
  "CreateVideo",
  "SaveVideo",
  "SaveAnimatedWEBP",
  "VHS_VideoCombine",
]);
const OUTPUTS = new Set(["SaveVideo", "SaveAnimatedWEBP", "VHS_VideoCombine"]);

interface Prompt {
  readonly number: number;
  readonly id: string;
  readonly graph: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  readonly clientId: string | null;
  readonly task: EmulatedTask;
  readonly outputNode: string;
  readonly outputClass: string;
  readonly file: string;
  interrupted: boolean;
}

export interface ComfyUiEmulator extends RunningEmulator {
  /** Prompts as submitted (the filled workflows), in order. */
  readonly prompts: Prompt[];
  /** Uploaded images by name. */
  readonly uploads: Map<string, Buffer>;
  /** How long a prompt waits in `queue_pending` before it runs (a busy GPU). */
  queueMs: number;
  /** The next prompt is refused: a node error on this node id. */
  nextNodeError: string | null;
  /** POST /queue deletions and /interrupt calls received. */
  readonly deleted: string[];
  interrupts: number;
  /** The operator deleted the outputs: /view answers 404. */
  deleteOutputs(): void;
  /** The `/ws` side: its faults and forged messages. */
  readonly ws: ComfyWsControl;
}

type Graph = Prompt["graph"];
const invalid = (type: string, message: string, details = "") => ({
  type,
  message,
  details,
  extra_info: {},
});

/** ComfyUI's `validate_prompt`, the parts the emulator can check. */
function validate(
  graph: unknown,
  uploads: Map<string, Buffer>,
): { ok: true; output: string } | { ok: false; body: object } {
  if (typeof graph !== "object" || graph === null || Array.isArray(graph))
    return { ok: false, body: { error: invalid("invalid_prompt", "Invalid prompt"), node_errors: {} } };
  const g = graph as Record<string, unknown>;
  for (const [id, n] of Object.entries(g)) {
    const node = (typeof n === "object" && n !== null ? n : {}) as Record<string, unknown>;
    if (typeof node.class_type !== "string")
      return {
        ok: false,
        body: {
          error: invalid(
            "invalid_prompt",
            "Cannot execute because a node is missing the class_type property.",
            `Node ID '#${id}'`,
          ),
          node_errors: {},
        },
      };
    if (!CLASSES.has(node.class_type))
      return {
        ok: false,
        body: {
          error: invalid(
            "invalid_prompt",
            `Cannot execute because node ${node.class_type} does not exist.`,
            `Node ID '#${id}'`,
          ),
          node_errors: {},
        },
      };
  }
  const nodeErrors: Record<string, object> = {};
  const fail = (id: string, cls: string, type: string, message: string, details: string) => {
    nodeErrors[id] = {
      errors: [{ type, message, details, extra_info: {} }],
      dependent_outputs: [],
      class_type: cls,
    };
  };
  let output: string | null = null;
  for (const [id, n] of Object.entries(g as Graph)) {
    if (typeof n.inputs !== "object" || n.inputs === null) {
      fail(id, n.class_type, "required_input_missing", "Required input is missing", "inputs");
      continue;
    }
    if (OUTPUTS.has(n.class_type)) output ??= id;
    for (const [name, v] of Object.entries(n.inputs)) {
      if (Array.isArray(v) && (typeof v[0] !== "string" || !(v[0] in g)))
        fail(
          id,
          n.class_type,
          "exception_during_inner_validation",
          "Exception when validating inner node",
          `${name}: node ${String(v[0])} does not exist`,
        );
      if (
        ["width", "height", "length", "batch_size", "seed"].includes(name) &&
        !Array.isArray(v) &&
        !Number.isInteger(v)
      )
        fail(
          id,
          n.class_type,
          "invalid_input_type",
          "Failed to convert an input value to a INT value",
          `${name}, ${String(v)}`,
        );
    }
    if (n.class_type === "LoadImage" && !uploads.has(String(n.inputs.image)))
      fail(
        id,
        n.class_type,
        "value_not_in_list",
        "Value not in list",
        `image: '${String(n.inputs.image)}' not in []`,
      );
  }
  if (output === null)
    return {
      ok: false,
      body: { error: invalid("prompt_no_outputs", "Prompt has no outputs"), node_errors: [] },
    };
  if (Object.keys(nodeErrors).length > 0)
    return {
      ok: false,
      body: {
        error: invalid("prompt_outputs_failed_validation", "Prompt outputs failed validation"),
        node_errors: nodeErrors,
      },
    };
  return { ok: true, output };
}

/** Width, height, frames and fps as the graph sets them. */
function sizeOf(graph: Graph, outputNode: string): { width: number; height: number; seconds: number } {
  let width = 832;
  let height = 480;
  let length = 81;
  let fps = 16;
  for (const n of Object.values(graph)) {
    const i = n.inputs;
    if (typeof i.width === "number" && typeof i.height === "number") {
      width = i.width;
      height = i.height;
      if (typeof i.length === "number") length = i.length;
    }
    if (typeof i.fps === "number" && (n.class_type === "CreateVideo" || OUTPUTS.has(n.class_type)))
      fps = i.fps;
  }
  const out = graph[outputNode]?.inputs;
  if (typeof out?.frame_rate === "number") fps = out.frame_rate;
  return { width, height, seconds: Math.max(1, Math.round((length - 1) / fps)) };
}

export async function startComfyUi(opts: { secret: string; port?: number }): Promise<ComfyUiEmulator> {
  const core = new EmulatorCore(opts.secret);
  const prompts: Prompt[] = [];
  const uploads = new Map<string, Buffer>();
  const deleted: string[] = [];
  let outputsDeleted = false;
  let number = 0;

  const placeOf = (p: Prompt): "pending" | "running" | "done" => {
    if (deleted.includes(p.id)) return "done";
    if (p.interrupted) return "done";
    const elapsed = Date.now() - p.task.createdAt;
    if (elapsed < emu.queueMs) return "pending";
    const { phase } = core.phaseOf(p.task, false);
    return phase === "queued" || phase === "running" ? "running" : "done";
  };
  const queueItem = (p: Prompt) => [p.number, p.id, p.graph, { client_id: p.clientId }, [p.outputNode]];

  function historyEntry(p: Prompt): object | null {
    if (deleted.includes(p.id)) return null;
    const place = placeOf(p);
    const t = p.task;
    const start = ["execution_start", { prompt_id: p.id, timestamp: t.createdAt }];
    if (place !== "done") {
      // A scripted odd status word: an entry that is neither success nor error.
      const word = t.behaviour.runningStatuses ? core.runningStatus(t, "running") : undefined;
      if (place === "running" && word !== undefined)
        return {
          prompt: queueItem(p),
          outputs: {},
          status: { status_str: word, completed: false, messages: [start] },
        };
      return null;
    }
    if (p.interrupted)
      return {
        prompt: queueItem(p),
        outputs: {},
        status: {
          status_str: "error",
          completed: false,
          messages: [
            start,
            ["execution_interrupted", { prompt_id: p.id, node_id: "3", node_type: "KSampler", executed: [] }],
          ],
        },
        meta: {},
      };
    if (t.behaviour.outcome === "fail")
      return {
        prompt: queueItem(p),
        outputs: {},
        status: {
          status_str: "error",
          completed: false,
          messages: [
            start,
            [
              "execution_error",
              {
                prompt_id: p.id,
                node_id: "3",
                node_type: "KSampler",
                executed: [],
                exception_message: t.behaviour.failMessage ?? "Allocation on device",
                exception_type: t.behaviour.failCode ?? "torch.OutOfMemoryError",
                traceback: [],
                current_inputs: {},
                current_outputs: {},
              },
            ],
          ],
        },
        meta: {},
      };
    const file = {
      filename: p.file,
      subfolder: p.outputClass === "SaveVideo" ? "video" : "",
      type: "output",
    };
    const ui =
      p.outputClass === "VHS_VideoCombine"
        ? { gifs: [{ ...file, format: "video/h264-mp4", frame_rate: 16 }] }
        : { images: [file], animated: [true] };
    return {
      prompt: queueItem(p),
      outputs: { [p.outputNode]: ui },
      status: {
        status_str: "success",
        completed: true,
        messages: [start, ["execution_success", { prompt_id: p.id, timestamp: Date.now() }]],
      },
      meta: { [p.outputNode]: { node_id: p.outputNode, display_node: p.outputNode } },
    };
  }

  async function handler(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const route = `${req.method} ${url.pathname.replace(/^\/history\/.+$/, "/history/{id}")}`;
    core.log(route, req);
    if (await applyFault(core.takeFault(route), req, res)) return;
    if (opts.secret !== "" && !core.authorised(req)) {
      res.writeHead(401, { "content-type": "text/plain" });
      res.end("401: Unauthorized");
      return;
    }
    if (route === "POST /upload/image") {
      const body = await readBody(req);
      const form = await new Response(body, {
        headers: { "content-type": req.headers["content-type"] ?? "" },
      }).formData();
      const image = form.get("image");
      if (!(image instanceof File) || !image.name) {
        res.writeHead(400).end();
        return;
      }
      const subfolder = String(form.get("subfolder") ?? "");
      const type = String(form.get("type") ?? "input");
      let name = image.name;
      if (form.get("overwrite") !== "true" && form.get("overwrite") !== "1") {
        const [stem, ext] = [name.replace(/\.[^.]*$/, ""), name.match(/\.[^.]*$/)?.[0] ?? ""];
        for (let i = 1; uploads.has(subfolder ? `${subfolder}/${name}` : name); i++)
          name = `${stem} (${i})${ext}`;
      }
      uploads.set(subfolder ? `${subfolder}/${name}` : name, Buffer.from(await image.arrayBuffer()));
      return sendJson(res, 200, { name, subfolder, type });
    }
    if (route === "POST /prompt") {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse((await readBody(req)).toString("utf8")) as Record<string, unknown>;
      } catch {
        res.writeHead(500, { "content-type": "text/plain" }).end("500 Internal Server Error");
        return;
      }
      if (!("prompt" in json)) return sendJson(res, 400, { error: "no prompt", node_errors: [] });
      const v = validate(json.prompt, uploads);
      if (!v.ok) return sendJson(res, 400, v.body);
      const graph = json.prompt as Graph;
      if (emu.nextNodeError !== null) {
        const id = emu.nextNodeError;
        emu.nextNodeError = null;
        return sendJson(res, 400, {
          error: invalid("prompt_outputs_failed_validation", "Prompt outputs failed validation"),
          node_errors: {
            [id]: {
              errors: [
                {
                  type: "value_not_in_list",
                  message: "Value not in list",
                  details: "unet_name: 'wan2.2_ti2v_5B_fp16.safetensors' not in []",
                  extra_info: {},
                },
              ],
              dependent_outputs: [v.output],
              class_type: graph[id]?.class_type ?? "UNETLoader",
            },
          },
        });
      }
      const size = sizeOf(graph, v.output);
      const id = randomUUID();
      const task = core.newTask("", { ...json }, size, null);
      const outputClass = graph[v.output]?.class_type ?? "SaveVideo";
      const n = number++;
      const ext = outputClass === "SaveAnimatedWEBP" ? "webp" : "mp4";
      prompts.push({
        number: n,
        id,
        graph,
        clientId: typeof json.client_id === "string" ? json.client_id : null,
        task,
        outputNode: v.output,
        outputClass,
        file: `ComfyUI_${String(n + 1).padStart(5, "0")}_.${ext}`,
        interrupted: false,
      });
      const prompt = prompts[prompts.length - 1];
      if (prompt) {
        const b = task.behaviour;
        const outcome = b.outcome === "fail" || b.outcome === "never" ? b.outcome : "complete";
        ws.queued({
          id,
          clientId: prompt.clientId,
          graph,
          outputNode: v.output,
          start: task.createdAt + emu.queueMs,
          end: outcome === "never" ? null : task.createdAt + b.runMs,
          outcome,
          failure: {
            type: b.failCode ?? "torch.OutOfMemoryError",
            message: b.failMessage ?? "Allocation on device",
          },
          ui: { images: [{ filename: prompt.file, subfolder: "video", type: "output" }], animated: [true] },
        });
      }
      return sendJson(res, 200, { prompt_id: id, number: n, node_errors: {} });
    }
    if (route === "GET /queue") {
      const running = prompts.filter((p) => placeOf(p) === "running").map(queueItem);
      const pending = prompts.filter((p) => placeOf(p) === "pending").map(queueItem);
      return sendJson(res, 200, { queue_running: running, queue_pending: pending });
    }
    if (route === "POST /queue") {
      const json = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { delete?: unknown };
      if (Array.isArray(json.delete))
        for (const id of json.delete) {
          const p = prompts.find((x) => x.id === id);
          if (p && placeOf(p) === "pending") {
            deleted.push(String(id));
            p.task.cancelled = true;
            ws.stopped(p.id, false);
          }
        }
      res.writeHead(200).end();
      return;
    }
    if (route === "POST /interrupt") {
      // Newer servers take `{prompt_id}` and interrupt only that prompt; without it, whatever runs.
      const text = (await readBody(req)).toString("utf8");
      let only: unknown;
      try {
        only = (JSON.parse(text || "{}") as { prompt_id?: unknown }).prompt_id;
      } catch {
        only = undefined;
      }
      emu.interrupts++;
      for (const p of prompts)
        if (placeOf(p) === "running" && (typeof only !== "string" || only === p.id)) {
          p.interrupted = true;
          p.task.cancelled = true;
          ws.stopped(p.id, true);
        }
      res.writeHead(200).end();
      return;
    }
    if (route === "GET /history/{id}") {
      const id = decodeURIComponent(url.pathname.slice("/history/".length));
      const p = prompts.find((x) => x.id === id);
      if (p) core.phaseOf(p.task);
      const entry = p ? historyEntry(p) : null;
      return sendJson(res, 200, entry ? { [id]: entry } : {});
    }
    if (route === "GET /view") {
      const filename = url.searchParams.get("filename") ?? "";
      if (filename === "" || filename.startsWith("/") || filename.includes("..")) {
        res.writeHead(400).end();
        return;
      }
      const p = prompts.find((x) => x.file === filename);
      if (!p || outputsDeleted || historyEntry(p) === null) {
        res.writeHead(404, { "content-type": "text/plain" }).end("404: Not Found");
        return;
      }
      if (p.outputClass === "SaveAnimatedWEBP") {
        const webp = Buffer.concat([
          Buffer.from("RIFF"),
          Buffer.alloc(4),
          Buffer.from("WEBPVP8 "),
          Buffer.alloc(32),
        ]);
        res.writeHead(200, { "content-type": "image/webp" }).end(webp);
        return;
      }
      return sendFile(res, await core.video(p.task), "video/mp4");
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("404: Not Found");
  }

  const ws = createComfyWs(() => prompts.filter((p) => placeOf(p) !== "done").length);
  const running = await listen(core, handler, opts.port ?? 0, (req, socket, head) => {
    core.log("GET /ws", req);
    ws.handleUpgrade(req, socket, head, opts.secret === "" || core.authorised(req));
  });
  const emu: ComfyUiEmulator = {
    ...running,
    ws,
    async close() {
      await ws.close();
      await running.close();
    },
    prompts,
    uploads,
    queueMs: 0,
    nextNodeError: null,
    deleted,
    interrupts: 0,
    deleteOutputs() {
      outputsDeleted = true;
    },
  };
  return emu;
}
