/**
 * ComfyUI's answers read as Reelay's: the history entry of a prompt (status and outputs), the
 * queue (queued vs running), a refused prompt (`{error, node_errors}`) and an execution error.
 *
 * Sources: comfyanonymous/ComfyUI `server.py` (`POST /prompt` → `{prompt_id, number, node_errors}`
 * or 400 `{error: {type, message, details, extra_info}, node_errors}`; `GET /history/{prompt_id}`;
 * `GET /queue` → `{queue_running, queue_pending}` of `[number, prompt_id, prompt, extra_data,
 * outputs_to_execute]`), `execution.py` (history `status: {status_str: "success"|"error",
 * completed, messages: [[event, data]…]}`; `execution_error` data `{node_id, node_type,
 * exception_message, exception_type}`; `execution_interrupted`).
 */
import type { UpstreamErrorClass, UpstreamState } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";

export interface OutputFile {
  readonly filename: string;
  readonly subfolder: string;
  readonly type: string;
}

export interface HistoryView {
  /** Null: the prompt is not in the history (still queued or running, or unknown). */
  readonly state: UpstreamState | null;
  readonly raw: string | null;
  /** False for a status word Reelay does not know (read as still running). */
  readonly known: boolean;
  readonly error: { code: string | null; message: string; class?: UpstreamErrorClass } | null;
  /** The output node's files (`images`, `gifs` or `videos`), in that order. */
  readonly files: readonly OutputFile[];
}

/** The history entry of `promptId` from `GET /history/{prompt_id}`. */
export function readHistory(json: unknown, promptId: string, outputNode: string): HistoryView {
  const entry = obj(json)[promptId];
  if (entry === undefined || entry === null)
    return { state: null, raw: null, known: true, error: null, files: [] };
  const e = obj(entry);
  const status = obj(e.status);
  const word = str(status.status_str);
  const node = obj(obj(e.outputs)[outputNode]);
  const files: OutputFile[] = [];
  for (const key of ["images", "gifs", "videos"]) {
    const list = node[key];
    if (!Array.isArray(list)) continue;
    for (const f of list) {
      const o = obj(f);
      const filename = str(o.filename);
      if (filename)
        files.push({ filename, subfolder: str(o.subfolder) ?? "", type: str(o.type) ?? "output" });
    }
  }
  if (word === "error")
    return { state: "failed", raw: word, known: true, error: executionError(status.messages), files };
  if (word === "success" || (word === null && status.completed === true))
    return { state: "completed", raw: word ?? "completed", known: true, error: null, files };
  // An entry with another word (or none, not completed): still going, a word Reelay does not know.
  return { state: "running", raw: word, known: false, error: null, files };
}

/** The reason of an execution that ended in error, from the history's `status.messages`. */
export function executionError(messages: unknown): {
  code: string | null;
  message: string;
  class?: UpstreamErrorClass;
} {
  const list = Array.isArray(messages) ? messages : [];
  for (const m of list) {
    if (!Array.isArray(m)) continue;
    const [event, data] = m as [unknown, unknown];
    if (event === "execution_interrupted")
      return { code: "execution_interrupted", message: "the prompt was interrupted on the ComfyUI server" };
    if (event === "execution_error") {
      const d = obj(data);
      const type = str(d.exception_type) ?? "execution_error";
      const text = str(d.exception_message) ?? "no reason given";
      const where = str(d.node_type) ? ` in node ${str(d.node_id) ?? "?"} (${str(d.node_type)})` : "";
      return { code: type, message: `${text.trim()}${where}`, class: classifyException(type, text) };
    }
  }
  return { code: null, message: "ComfyUI reports an execution error without details" };
}

/** Out of GPU memory is the server's fault (another server may have room); other errors the job's. */
export function classifyException(type: string, message: string): UpstreamErrorClass {
  if (/OutOfMemory/i.test(type) || /out of memory|CUDA error|allocat/i.test(message)) return "overloaded";
  return "upstream_internal";
}

/** Where a prompt stands in `GET /queue`: running, pending (queued), or absent. */
export function queuePlace(json: unknown, promptId: string): "running" | "queued" | null {
  const q = obj(json);
  const has = (list: unknown) =>
    Array.isArray(list) && list.some((item) => Array.isArray(item) && item[1] === promptId);
  if (has(q.queue_running)) return "running";
  if (has(q.queue_pending)) return "queued";
  return null;
}

/** A refused prompt's reason: `error.message` plus the first node error (400 `{error, node_errors}`). */
export function promptRefusal(json: unknown): { code: string; message: string } | null {
  const body = obj(json);
  const err = body.error;
  if (err === undefined) return null;
  const e = obj(err);
  const code = str(e.type) ?? "invalid_prompt";
  let message = str(e.message) ?? (typeof err === "string" ? err : "ComfyUI refused the prompt");
  const details = str(e.details);
  if (details) message += `: ${details}`;
  for (const [id, ne] of Object.entries(obj(body.node_errors))) {
    const n = obj(ne);
    const first = Array.isArray(n.errors) ? obj(n.errors[0]) : {};
    const what = [str(first.message), str(first.details)].filter(Boolean).join(": ");
    if (what) {
      message += `; node ${id} (${str(n.class_type) ?? "?"}): ${what}`;
      break;
    }
  }
  return { code, message };
}

/** The video among the output files: the first `.mp4`; else why there is none. */
export function pickVideo(files: readonly OutputFile[], outputNode: string): OutputFile | string {
  const mp4 = files.find((f) => /\.mp4$/i.test(f.filename));
  if (mp4) return mp4;
  if (files.length === 0) return `ComfyUI's output node ${outputNode} produced no file`;
  return `ComfyUI's output node ${outputNode} produced ${files
    .map((f) => f.filename)
    .join(
      ", ",
    )}, not an MP4 video: make it a SaveVideo node with format mp4 (or a video combine to h264-mp4)`;
}

/** The `GET /view` path of an output file. */
export const viewPath = (f: OutputFile): string =>
  `view?${new URLSearchParams({ filename: f.filename, subfolder: f.subfolder, type: f.type }).toString()}`;
