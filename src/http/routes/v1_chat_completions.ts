/**
 * `POST /v1/chat/completions` in video mode, as several relays offer it: the last user message is
 * the prompt (its image parts become images), the reply carries the video link. `stream: true`
 * sends progress as `chat.completion.chunk` events (in `delta.reasoning_content`), the link in the
 * last `delta.content`, then `[DONE]`. Both modes follow the task's feed (the one the event
 * streams read) rather than polling it. The completion's id is the task id, so a client that goes
 * away can still query the task; going away does not cancel it. Its videos are unlisted, like the
 * OpenAI Videos API's (see isPublished).
 */
import { z } from "zod";
import { errors } from "../../core/errors.js";
import { isDataUrl } from "../../core/tasks/openai_params.js";
import { parseInput, parseUnifiedCreate } from "../../core/tasks/params.js";
import type { Task } from "../../core/tasks/task.js";
import { taskQueryView } from "../../core/tasks/views.js";
import { principalOf } from "../auth.js";
import { createTask } from "../create_task.js";
import { storeDataUrls } from "../openai_inputs.js";
import { CREATE_ERRORS, type Route } from "../route.js";
import { chatCompletionSchema } from "../schemas.js";
import type { AppServices } from "../services.js";
import { followFeed, openEventStream } from "../task_stream.js";

const part = z.union([
  z.strictObject({ type: z.literal("text"), text: z.string() }),
  z.strictObject({
    type: z.literal("image_url"),
    image_url: z.union([z.string(), z.looseObject({ url: z.string() })]),
  }),
]);
const message = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(part), z.null()]).optional(),
});
export const chatBodySchema = z.strictObject({
  model: z.string(),
  messages: z.array(message).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).optional(),
  // Video settings (the unified API's fields); the model's defaults when absent.
  orientation: z.string().optional(),
  size: z.string().optional(),
  duration: z.int().optional(),
  watermark: z.boolean().optional(),
  private: z.boolean().optional(),
  // Chat fields clients send by habit: accepted, and meaningless for a video.
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  n: z.literal(1).optional(),
  max_tokens: z.int().optional(),
  max_completion_tokens: z.int().optional(),
  user: z.string().optional(),
});

const tokens = (text: string): number => Math.ceil(text.length / 4);

function finalText(task: Task, s: AppServices): string {
  if (task.status === "completed") return `[video](${taskQueryView(task, s).video_url ?? ""})`;
  if (task.status === "failed")
    return `Video generation failed (${task.error?.code ?? "error"}): ${task.error?.message ?? ""}`;
  if (task.status === "cancelled") return "Video generation was cancelled.";
  return `The video is still being made: query GET /v1/video/query?id=${task.id} or GET /v1/videos/${task.id}`;
}

export const v1ChatCompletions: Route = {
  method: "POST",
  url: "/v1/chat/completions",
  auth: "key",
  summary: "Chat-completions video mode (stream: true for server-sent progress)",
  tag: "OpenAI-compatible API",
  body: chatBodySchema,
  ok: {
    status: 200,
    schema: chatCompletionSchema,
    description: "A chat.completion, or a text/event-stream of chat.completion.chunk",
  },
  errors: CREATE_ERRORS,
  handler: (s) => async (req, reply) => {
    const { ownerId } = principalOf(req);
    const b = parseInput(chatBodySchema, req.body ?? {});
    const lastUser = [...b.messages].reverse().find((m) => m.role === "user");
    if (!lastUser)
      throw errors.invalidField("messages", "'messages' needs a user message: its text is the prompt");
    const parts =
      typeof lastUser.content === "string"
        ? [{ type: "text" as const, text: lastUser.content }]
        : (lastUser.content ?? []);
    const prompt = parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
    const imageUrls = parts.flatMap((p) =>
      p.type === "image_url" ? [typeof p.image_url === "string" ? p.image_url : p.image_url.url] : [],
    );
    const cap = s.models.get(b.model);
    const request = parseUnifiedCreate(
      {
        model: b.model,
        prompt,
        orientation: b.orientation ?? "portrait",
        size: b.size ?? cap?.sizes[0] ?? "small",
        duration: b.duration ?? cap?.durations[0] ?? 10,
        images: imageUrls.filter((u) => !isDataUrl(u)),
        ...(b.watermark === undefined ? {} : { watermark: b.watermark }),
        ...(b.private === undefined ? {} : { private: b.private }),
      },
      s.models,
    );
    const imageKeys = await storeDataUrls(
      s,
      imageUrls.filter(isDataUrl).map((url) => ({ url, param: "messages" })),
    );
    // An OpenAI-style API, so the OpenAI API's rule: unlisted (its owner's to remix, in no gallery).
    // Chat clients never chose to publish; `private: true` still makes it private.
    let task = await createTask(s, req, ownerId, { ...request, api: "openai", imageKeys });
    const created = Math.floor(task.createdAt / 1000);
    const base = { id: task.id, created, model: b.model };
    const usage = (content: string) => ({
      prompt_tokens: tokens(prompt),
      completion_tokens: tokens(content),
      total_tokens: tokens(prompt) + tokens(content),
    });
    // The wait ends at the task's final event, at the deadline, or when the client goes away.
    const stop = new AbortController();
    const deadline = setTimeout(() => stop.abort(), s.chatWaitS * 1000);
    deadline.unref();
    const follow = (onEvent: (e: { status: string; progress: number } | "beat") => void) =>
      (async () => {
        for await (const e of followFeed(s.events, task, 1, stop.signal)) onEvent(e === "beat" ? e : e.data);
      })().finally(() => clearTimeout(deadline));

    // A long wait sends nothing for minutes: the idle-connection timeout must not cut it.
    req.raw.socket.setTimeout(0);
    if (!b.stream) {
      await follow(() => undefined);
      task = await s.engine.getOwned(ownerId, task.id);
      const content = finalText(task, s);
      return {
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }],
        usage: usage(content),
      };
    }

    const gone = openEventStream(req, reply);
    gone.addEventListener("abort", () => stop.abort());
    const res = reply.raw;
    const send = (delta: object, finish: string | null = null, extra: object = {}): void => {
      if (gone.aborted) return;
      res.write(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }], ...extra })}\n\n`,
      );
    };
    send({
      role: "assistant",
      content: "",
      reasoning_content: `Task ${task.id} accepted (${task.status}).\n`,
    });
    // Every event after the first (the accepted task), heartbeats as SSE comments.
    await follow((e) => {
      // An SSE comment: keeps proxies and clients from closing a quiet stream.
      if (e === "beat") res.write(": keep-alive\n\n");
      else send({ reasoning_content: `${e.status}: ${e.progress}%\n` });
    });
    const open = !gone.aborted;
    task = await s.engine.getOwned(ownerId, task.id).catch(() => task);
    if (!open) return reply;
    const content = finalText(task, s);
    send({ content });
    send({}, "stop");
    if (b.stream_options?.include_usage) {
      res.write(
        `data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage: usage(content) })}\n\n`,
      );
    }
    res.end("data: [DONE]\n\n");
    return reply;
  },
};
