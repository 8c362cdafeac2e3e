/**
 * A ComfyUI workflow in its API format (`{ "<node id>": { class_type, inputs } }`, as "Save (API)"
 * writes it) and the channel's `workflowMap`: where Reelay's inputs go, as `"<node id>.inputs.<name>"`
 * paths. Pure: parsing and checking at start, and filling a copy of the graph per task.
 *
 * Sources: comfyanonymous/ComfyUI `server.py` (`POST /prompt` takes `{prompt, client_id}`),
 * `execution.py` (`validate_prompt`: every node needs `class_type` and `inputs`),
 * `script_examples/basic_api_example.py` (a workflow edited by node id and input name).
 */

export interface ComfyNode {
  readonly class_type: string;
  readonly inputs: Record<string, unknown>;
  readonly _meta?: unknown;
}
export type ComfyWorkflow = Readonly<Record<string, ComfyNode>>;

/** The paths in `workflowMap` that name an input (`"<node id>.inputs.<name>"`). */
export const MAP_INPUTS = [
  "prompt",
  "negativePrompt",
  "seed",
  "width",
  "height",
  "length",
  "seconds",
  "firstFrame",
  "lastFrame",
] as const;
export type MapInput = (typeof MAP_INPUTS)[number];

export interface WorkflowMap {
  readonly inputs: Partial<Record<MapInput, InputPath>>;
  /** Frames per second used to turn seconds into `length` frames (default 16). */
  readonly fps: number;
  /** The node whose output is the video. */
  readonly output: string;
}

export interface InputPath {
  readonly node: string;
  readonly input: string;
}

/** The workflow in API format, or a sentence saying what is wrong with it. */
export function parseWorkflow(json: unknown): ComfyWorkflow | string {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    return "the workflow is not a JSON object of nodes (export it with 'Save (API)')";
  const entries = Object.entries(json as Record<string, unknown>);
  if (entries.length === 0) return "the workflow has no nodes";
  for (const [id, node] of entries) {
    if (typeof node !== "object" || node === null || Array.isArray(node))
      return `node '${id}' is not an object (is this the API format?)`;
    const n = node as Record<string, unknown>;
    if (typeof n.class_type !== "string" || n.class_type === "") return `node '${id}' has no class_type`;
    if (typeof n.inputs !== "object" || n.inputs === null || Array.isArray(n.inputs))
      return `node '${id}' has no inputs object`;
  }
  return json as ComfyWorkflow;
}

/** `"<node id>.inputs.<name>"` → its parts, or null when it is not of that form. */
export function parsePath(path: string): InputPath | null {
  const m = /^([^.]+)\.inputs\.([^.]+)$/.exec(path);
  return m?.[1] && m[2] ? { node: m[1], input: m[2] } : null;
}

/**
 * The channel's `workflowMap` checked against its workflow: every path names a node that exists
 * and an input that node has; `prompt` and `output` are required; `length` and `seconds` exclusive.
 * Returns the map or a sentence naming the offending key and path.
 */
export function readWorkflowMap(
  workflow: ComfyWorkflow,
  raw: Record<string, string | number | undefined>,
): WorkflowMap | string {
  const inputs: Partial<Record<MapInput, InputPath>> = {};
  for (const key of MAP_INPUTS) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== "string") return `workflowMap.${key} must be a "<node id>.inputs.<name>" path`;
    const p = parsePath(v);
    if (!p) return `workflowMap.${key} '${v}' is not of the form "<node id>.inputs.<name>"`;
    const node = workflow[p.node];
    if (!node) return `workflowMap.${key} '${v}': the workflow has no node '${p.node}'`;
    if (!(p.input in node.inputs))
      return `workflowMap.${key} '${v}': node '${p.node}' (${node.class_type}) has no input '${p.input}'`;
    if ((key === "firstFrame" || key === "lastFrame") && node.class_type !== "LoadImage")
      return `workflowMap.${key} '${v}': node '${p.node}' is a ${node.class_type}, not a LoadImage`;
    inputs[key] = p;
  }
  if (!inputs.prompt) return "workflowMap.prompt is required";
  if (inputs.length && inputs.seconds) return "workflowMap: give length (frames) or seconds, not both";
  const fps = raw.fps ?? 16;
  if (typeof fps !== "number" || !Number.isFinite(fps) || fps <= 0 || fps > 240)
    return "workflowMap.fps must be a number of frames per second (1–240)";
  const output = raw.output;
  if (typeof output !== "string" || output === "")
    return "workflowMap.output (the node id of the video) is required";
  if (!workflow[output]) return `workflowMap.output '${output}': the workflow has no node '${output}'`;
  return { inputs, fps, output };
}

/** What one task puts into the workflow. */
export interface TaskInputs {
  readonly prompt: string;
  readonly negativePrompt?: string;
  readonly seed: number;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  /** The uploaded images' names as LoadImage takes them (`subfolder/name`). */
  readonly firstFrame?: string;
  readonly lastFrame?: string;
}

/** Frames for `seconds` at `fps`: Wan-style `4n + 1` counts (81 frames = 5 s at 16 fps). */
export const framesFor = (seconds: number, fps: number): number => {
  const n = Math.max(1, Math.round(seconds * fps));
  return Math.ceil(n / 4) * 4 + 1;
};

/** A copy of the workflow with the task's inputs written into the mapped places. */
export function fillWorkflow(workflow: ComfyWorkflow, map: WorkflowMap, t: TaskInputs): ComfyWorkflow {
  const out: Record<string, ComfyNode> = {};
  for (const [id, n] of Object.entries(workflow)) out[id] = { ...n, inputs: { ...n.inputs } };
  const set = (key: MapInput, value: string | number | undefined) => {
    const p = map.inputs[key];
    const node = p ? out[p.node] : undefined;
    if (p && node && value !== undefined) node.inputs[p.input] = value;
  };
  set("prompt", t.prompt);
  set("negativePrompt", t.negativePrompt);
  set("seed", t.seed);
  set("width", t.width);
  set("height", t.height);
  set("length", framesFor(t.seconds, map.fps));
  set("seconds", t.seconds);
  set("firstFrame", t.firstFrame);
  set("lastFrame", t.lastFrame);
  return out;
}

/** Pixel size for an aspect ratio and resolution (short side 480/720/1080, even numbers). */
export function dimensions(aspect: string, resolution: string): { width: number; height: number } {
  const short = resolution === "1080p" ? 1080 : resolution === "480p" ? 480 : 720;
  const m = /^(\d+):(\d+)$/.exec(aspect);
  const w = Number(m?.[1] ?? 16);
  const h = Number(m?.[2] ?? 9);
  const even = (x: number) => Math.round(x / 2) * 2;
  return w >= h
    ? { width: even((short * w) / h), height: short }
    : { width: short, height: even((short * h) / w) };
}
