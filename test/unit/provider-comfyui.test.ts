/** The comfyui adapter's pure parts: workflow and map checks, filling, history/queue/error reading. */
import { describe, expect, it } from "vitest";
import {
  classifyException,
  executionError,
  pickVideo,
  promptRefusal,
  queuePlace,
  readHistory,
  viewPath,
} from "../../src/adapters/providers/comfyui/mapping.js";
import {
  type ComfyWorkflow,
  dimensions,
  fillWorkflow,
  framesFor,
  parsePath,
  parseWorkflow,
  readWorkflowMap,
  type WorkflowMap,
} from "../../src/adapters/providers/comfyui/workflow.js";

const WF = {
  "4": { class_type: "CLIPTextEncode", inputs: { text: "", clip: ["2", 0] } },
  "6": {
    class_type: "EmptyHunyuanLatentVideo",
    inputs: { width: 832, height: 480, length: 81, batch_size: 1 },
  },
  "7": { class_type: "KSampler", inputs: { seed: 0, steps: 20 } },
  "11": { class_type: "LoadImage", inputs: { image: "x.png" } },
  "10": { class_type: "SaveVideo", inputs: { video: ["9", 0], format: "mp4" } },
} as const satisfies Record<string, unknown>;

const workflow = (): ComfyWorkflow => {
  const w = parseWorkflow(JSON.parse(JSON.stringify(WF)));
  if (typeof w === "string") throw new Error(w);
  return w;
};

describe("comfyui workflow", () => {
  it("reads the API format and refuses the UI format or nodes without class_type/inputs", () => {
    expect(typeof parseWorkflow(WF)).toBe("object");
    expect(parseWorkflow([])).toMatch(/not a JSON object/);
    expect(parseWorkflow({})).toMatch(/no nodes/);
    expect(parseWorkflow({ nodes: [], links: [] })).toMatch(/node 'nodes' is not an object/);
    expect(parseWorkflow({ "1": { inputs: {} } })).toMatch(/node '1' has no class_type/);
    expect(parseWorkflow({ "1": { class_type: "X" } })).toMatch(/node '1' has no inputs/);
  });

  it("parses <node id>.inputs.<name> paths", () => {
    expect(parsePath("6.inputs.width")).toEqual({ node: "6", input: "width" });
    expect(parsePath("6.width")).toBeNull();
    expect(parsePath("6.inputs.a.b")).toBeNull();
  });

  it("checks every mapped path against the workflow, naming the key and the path", () => {
    const w = workflow();
    const map = readWorkflowMap(w, { prompt: "4.inputs.text", seed: "7.inputs.seed", output: "10" });
    expect(map).toEqual({
      inputs: { prompt: { node: "4", input: "text" }, seed: { node: "7", input: "seed" } },
      fps: 16,
      output: "10",
    });
    expect(readWorkflowMap(w, { output: "10" })).toMatch(/workflowMap.prompt is required/);
    expect(readWorkflowMap(w, { prompt: "4.inputs.text" })).toMatch(/workflowMap.output/);
    expect(readWorkflowMap(w, { prompt: "4.inputs.text", output: "99" })).toMatch(/no node '99'/);
    expect(readWorkflowMap(w, { prompt: "5.inputs.text", output: "10" })).toMatch(
      /workflowMap.prompt '5.inputs.text': the workflow has no node '5'/,
    );
    expect(readWorkflowMap(w, { prompt: "4.inputs.txt", output: "10" })).toMatch(
      /node '4' \(CLIPTextEncode\) has no input 'txt'/,
    );
    expect(readWorkflowMap(w, { prompt: "4.text", output: "10" })).toMatch(/not of the form/);
    expect(
      readWorkflowMap(w, { prompt: "4.inputs.text", firstFrame: "4.inputs.text", output: "10" }),
    ).toMatch(/not a LoadImage/);
    expect(readWorkflowMap(w, { prompt: "4.inputs.text", fps: 0, output: "10" })).toMatch(/fps/);
    expect(readWorkflowMap(w, { prompt: "4.inputs.text", fps: "24", output: "10" })).toMatch(/fps/);
    expect(
      readWorkflowMap(w, {
        prompt: "4.inputs.text",
        length: "6.inputs.length",
        seconds: "6.inputs.width",
        output: "10",
      }),
    ).toMatch(/not both/);
  });

  it("fills a copy of the workflow at the mapped paths, leaving the rest and the original alone", () => {
    const w = workflow();
    const map = readWorkflowMap(w, {
      prompt: "4.inputs.text",
      seed: "7.inputs.seed",
      width: "6.inputs.width",
      height: "6.inputs.height",
      length: "6.inputs.length",
      firstFrame: "11.inputs.image",
      fps: 24,
      output: "10",
    }) as WorkflowMap;
    const out = fillWorkflow(w, map, {
      prompt: "a kite",
      seed: 42,
      width: 1280,
      height: 720,
      seconds: 5,
      firstFrame: "reelay-first.png",
    });
    expect(out["4"]?.inputs).toEqual({ text: "a kite", clip: ["2", 0] });
    expect(out["7"]?.inputs).toEqual({ seed: 42, steps: 20 });
    expect(out["6"]?.inputs).toEqual({ width: 1280, height: 720, length: 121, batch_size: 1 });
    expect(out["11"]?.inputs.image).toBe("reelay-first.png");
    expect(w["4"]?.inputs.text).toBe("");
  });

  it("counts frames as Wan takes them (4n + 1) and sizes by aspect ratio and resolution", () => {
    expect(framesFor(5, 16)).toBe(81);
    expect(framesFor(5, 24)).toBe(121);
    expect(framesFor(8, 24)).toBe(193);
    expect(dimensions("16:9", "1080p")).toEqual({ width: 1920, height: 1080 });
    expect(dimensions("9:16", "720p")).toEqual({ width: 720, height: 1280 });
    expect(dimensions("16:9", "480p")).toEqual({ width: 854, height: 480 });
    expect(dimensions("1:1", "720p")).toEqual({ width: 720, height: 720 });
  });
});

describe("comfyui answers", () => {
  const file = { filename: "ComfyUI_00001_.mp4", subfolder: "video", type: "output" };

  it("reads a history entry: absent, success with outputs, error, an odd word", () => {
    expect(readHistory({}, "p1", "10")).toEqual({
      state: null,
      raw: null,
      known: true,
      error: null,
      files: [],
    });
    const ok = readHistory(
      {
        p1: {
          outputs: { "10": { images: [file], animated: [true] } },
          status: { status_str: "success", completed: true },
        },
      },
      "p1",
      "10",
    );
    expect(ok).toMatchObject({ state: "completed", raw: "success", files: [file] });
    const gifs = readHistory(
      {
        p1: {
          outputs: { "10": { gifs: [{ filename: "a.mp4", subfolder: "", type: "output" }] } },
          status: { status_str: "success" },
        },
      },
      "p1",
      "10",
    );
    expect(gifs.files).toEqual([{ filename: "a.mp4", subfolder: "", type: "output" }]);
    const err = readHistory(
      {
        p1: {
          outputs: {},
          status: {
            status_str: "error",
            completed: false,
            messages: [
              ["execution_start", {}],
              [
                "execution_error",
                {
                  node_id: "3",
                  node_type: "KSampler",
                  exception_type: "torch.OutOfMemoryError",
                  exception_message: "Allocation on device ",
                },
              ],
            ],
          },
        },
      },
      "p1",
      "10",
    );
    expect(err).toMatchObject({
      state: "failed",
      error: {
        code: "torch.OutOfMemoryError",
        message: "Allocation on device in node 3 (KSampler)",
        class: "overloaded",
      },
    });
    expect(
      readHistory({ p1: { status: { status_str: "paused", completed: false } } }, "p1", "10"),
    ).toMatchObject({
      state: "running",
      raw: "paused",
      known: false,
    });
  });

  it("reads interrupts and other exceptions", () => {
    expect(executionError([["execution_interrupted", {}]])).toMatchObject({ code: "execution_interrupted" });
    expect(executionError([])).toMatchObject({ code: null });
    expect(classifyException("RuntimeError", "CUDA error: out of memory")).toBe("overloaded");
    expect(classifyException("ValueError", "bad shape")).toBe("upstream_internal");
  });

  it("tells queued from running in /queue", () => {
    const q = { queue_running: [[0, "p1", {}, {}, ["10"]]], queue_pending: [[1, "p2", {}, {}, ["10"]]] };
    expect(queuePlace(q, "p1")).toBe("running");
    expect(queuePlace(q, "p2")).toBe("queued");
    expect(queuePlace(q, "p3")).toBeNull();
  });

  it("reads a refused prompt's error and first node error", () => {
    expect(
      promptRefusal({
        error: {
          type: "prompt_outputs_failed_validation",
          message: "Prompt outputs failed validation",
          details: "",
        },
        node_errors: {
          "1": {
            errors: [
              {
                type: "value_not_in_list",
                message: "Value not in list",
                details: "unet_name: 'x' not in []",
              },
            ],
            class_type: "UNETLoader",
          },
        },
      }),
    ).toEqual({
      code: "prompt_outputs_failed_validation",
      message:
        "Prompt outputs failed validation; node 1 (UNETLoader): Value not in list: unet_name: 'x' not in []",
    });
    expect(promptRefusal({ error: "no prompt", node_errors: [] })).toEqual({
      code: "invalid_prompt",
      message: "no prompt",
    });
    expect(promptRefusal({ prompt_id: "x" })).toBeNull();
  });

  it("picks the MP4 output and refuses other files with a clear reason", () => {
    expect(pickVideo([file], "10")).toEqual(file);
    expect(pickVideo([], "10")).toMatch(/produced no file/);
    expect(pickVideo([{ filename: "a.webp", subfolder: "", type: "output" }], "10")).toMatch(
      /a.webp, not an MP4/,
    );
    expect(viewPath(file)).toBe("view?filename=ComfyUI_00001_.mp4&subfolder=video&type=output");
  });
});
