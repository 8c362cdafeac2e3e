/**
 * The `newapi` kind's pure parts (src/adapters/providers/newapi/mapping.ts): the create body, the
 * task answer in both shapes new-api gives it (documented bare; served wrapped as a stored task),
 * every status word set, and new-api's errors to Reelay's classes.
 */
import { describe, expect, it } from "vitest";
import {
  channelFault,
  classify,
  createBody,
  createdId,
  errorInBody,
  NewApiUnsupported,
  readTask,
  taskFailureClass,
} from "../../src/adapters/providers/newapi/mapping.js";

const BASE = {
  model: "veo-3.1",
  prompt: "a lighthouse at dusk",
  duration: 8,
  width: 1920,
  height: 1080,
  firstFrame: null,
  lastFrame: false,
  references: 0,
};

describe("newapi createBody", () => {
  it("sends the documented fields and the size the relay's handler reads", () => {
    expect(createBody(BASE)).toEqual({
      model: "veo-3.1",
      prompt: "a lighthouse at dusk",
      duration: 8,
      width: 1920,
      height: 1080,
      size: "1920x1080",
    });
  });

  it("adds seed, the first frame as `image` and the negative prompt in metadata", () => {
    expect(
      createBody({ ...BASE, seed: 42, firstFrame: "https://img.example/a.png", negativePrompt: "blur" }),
    ).toEqual({
      model: "veo-3.1",
      prompt: "a lighthouse at dusk",
      duration: 8,
      width: 1920,
      height: 1080,
      size: "1920x1080",
      seed: 42,
      image: "https://img.example/a.png",
      metadata: { negative_prompt: "blur" },
    });
    expect(createBody({ ...BASE, seed: 0 }).seed).toBe(0);
  });

  it("refuses a last frame or reference images (no field for them), naming the field", () => {
    expect(() => createBody({ ...BASE, lastFrame: true })).toThrow(NewApiUnsupported);
    expect(() => createBody({ ...BASE, lastFrame: true })).toThrow(/last_frame/);
    expect(() => createBody({ ...BASE, references: 2 })).toThrow(/reference_images/);
  });
});

describe("newapi create answers", () => {
  it("reads the task id from task_id, id, or the wrapper's data", () => {
    expect(createdId({ task_id: "task_abc", status: "queued" })).toBe("task_abc");
    expect(createdId({ id: "task_x", object: "video", status: "queued" })).toBe("task_x");
    expect(createdId({ code: "success", data: { task_id: "task_d" } })).toBe("task_d");
    expect(createdId({ status: "queued" })).toBeNull();
  });

  it("finds errors in 2xx bodies but not in task answers", () => {
    expect(errorInBody({ error: { message: "bad", type: "new_api_error", code: "x" } })).toEqual({
      code: "x",
      message: "bad",
    });
    expect(errorInBody({ code: "task_failed", message: "boom", data: null })).toEqual({
      code: "task_failed",
      message: "boom",
    });
    expect(
      errorInBody({ task_id: "t", status: "completed", error: { code: 0, message: "string" } }),
    ).toBeNull();
    expect(errorInBody({ code: "success", data: { task_id: "t", status: "SUCCESS" } })).toBeNull();
    expect(errorInBody({ id: "t", task_id: "t", status: "queued" })).toBeNull();
  });
});

describe("newapi classify", () => {
  it("reads moderation from codes and words", () => {
    expect(classify({ code: "sensitive_words_detected", message: "x" }, 400)).toBe("content_policy");
    expect(classify({ code: null, message: "violates our content policy" }, 400)).toBe("content_policy");
    expect(classify({ code: null, message: "输入包含敏感词" }, 200)).toBe("content_policy");
  });

  it("puts credential, quota and overload on the channel; invalid parameters on the request", () => {
    expect(classify({ code: null, message: "无效的令牌" }, 401)).toBe("auth");
    expect(classify({ code: "insufficient_user_quota", message: "用户额度不足" }, 403)).toBe("quota");
    expect(classify({ code: "rate_limit_exceeded", message: "busy" }, 429)).toBe("overloaded");
    expect(classify({ code: "model_not_found", message: "无可用渠道" }, 503)).toBe("overloaded");
    expect(classify({ code: "do_request_failed", message: "eof" }, 500)).toBe("upstream_internal");
    expect(classify({ code: "invalid_request", message: "prompt is required" }, 400)).toBe("invalid_request");
    for (const c of ["auth", "quota", "overloaded", "upstream_internal"] as const)
      expect(channelFault(c)).toBe(true);
    for (const c of ["invalid_request", "content_policy"] as const) expect(channelFault(c)).toBe(false);
  });

  it("classes a running task's failure by its words", () => {
    expect(taskFailureClass(null, "output flagged by the safety system")).toBe("content_policy");
    expect(taskFailureClass("400", "invalid image size")).toBe("invalid_request");
    expect(taskFailureClass(null, "generation failed")).toBe("upstream_internal");
  });
});

describe("newapi readTask", () => {
  it("reads the documented shape: words, url, metadata duration as usage", () => {
    expect(readTask({ task_id: "t", status: "queued" })).toMatchObject({ state: "queued", known: true });
    expect(readTask({ task_id: "t", status: "in_progress" })).toMatchObject({
      state: "running",
      known: true,
    });
    const done = readTask({
      task_id: "t",
      status: "completed",
      url: "https://cdn.example/v.mp4",
      format: "mp4",
      metadata: { duration: 5, fps: 30, width: 1280, height: 720, seed: 1 },
    });
    expect(done).toMatchObject({
      state: "completed",
      url: "https://cdn.example/v.mp4",
      seconds: 5,
      error: null,
    });
    expect(readTask({ task_id: "t", status: "failed", error: { code: 500, message: "boom" } })).toMatchObject(
      {
        state: "failed",
        error: { code: "500", message: "boom", class: "upstream_internal" },
      },
    );
  });

  it("reads the stored-task shape new-api serves: upper-case words, progress, fail_reason, result_url", () => {
    const wrap = (data: object) => ({ code: "success", message: "", data });
    expect(readTask(wrap({ task_id: "t", status: "NOT_START", progress: "0%" }))).toMatchObject({
      state: "queued",
      progress: 0,
    });
    expect(readTask(wrap({ status: "SUBMITTED" }))).toMatchObject({ state: "queued", known: true });
    expect(readTask(wrap({ status: "QUEUED" }))).toMatchObject({ state: "queued", known: true });
    expect(readTask(wrap({ status: "IN_PROGRESS", progress: "42%" }))).toMatchObject({
      state: "running",
      progress: 42,
    });
    expect(readTask(wrap({ status: "SUCCESS", result_url: "https://r.example/x.mp4" }))).toMatchObject({
      state: "completed",
      url: "https://r.example/x.mp4",
    });
    expect(
      readTask(wrap({ status: "FAILURE", fail_reason: "content moderation rejected the prompt" })),
    ).toMatchObject({
      state: "failed",
      error: { message: "content moderation rejected the prompt", class: "content_policy" },
    });
    // The simplified words new-api uses for Gemini/Vertex channels.
    expect(readTask(wrap({ status: "processing" }))).toMatchObject({ state: "running", known: true });
    expect(readTask(wrap({ status: "succeeded", url: "/v1/videos/t/content" }))).toMatchObject({
      state: "completed",
      url: "/v1/videos/t/content",
    });
  });

  it("keeps unknown, UNKNOWN, odd words and none running, never failed", () => {
    for (const status of ["unknown", "UNKNOWN", "warming_up", undefined, ""]) {
      const t = readTask(status === undefined ? { task_id: "t" } : { task_id: "t", status });
      expect(t).toMatchObject({ state: "running", known: false, error: null });
    }
  });
});
