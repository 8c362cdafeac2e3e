/**
 * `POST /v1/callbacks/{channel}/{task}?token=`: where a provider pushes a task's changes (channels
 * with `callbacks` on). The token in the URL Reelay gave the provider, and the provider's own
 * signature where it signs, are checked; then the task is polled at once. The body is read as
 * bytes (signatures cover the exact bytes) and never trusted for the task's state.
 */
import { z } from "zod";
import { ErrorCode } from "../../core/errors.js";
import type { Route } from "../route.js";

/** Callback bodies are task documents, a few KiB; fal's carry the model's output too. */
const CALLBACK_BODY_LIMIT = 1024 * 1024;

const answerSchema = z
  .object({
    received: z.boolean().optional().meta({ description: "The callback was taken" }),
    polled: z.boolean().optional().meta({ description: "Whether the task was made due for a poll" }),
    challenge: z.string().optional().meta({ description: "MiniMax's URL check, echoed" }),
  })
  .meta({ id: "ProviderCallbackAnswer" });

export const v1Callbacks: Route = {
  method: "POST",
  url: "/v1/callbacks/:channel/:task",
  auth: "none",
  summary: "Receive a provider's callback for a task (channels with callbacks on)",
  tag: "Providers",
  query: {
    token: {
      schema: z.string(),
      required: true,
      description: "The token of the URL Reelay gave the provider for this channel and task",
    },
  },
  ok: { status: 200, schema: answerSchema, description: "Taken (or a challenge echoed)" },
  errors: [ErrorCode.notFound, ErrorCode.callbackRefused],
  bodyLimit: CALLBACK_BODY_LIMIT,
  scope: "raw",
  handler: (s) => async (req) => {
    const { channel, task } = req.params as { channel: string; task: string };
    const { token } = req.query as { token?: unknown };
    const headers: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const answer = await s.callbacks.receive(channel, task, typeof token === "string" ? token : undefined, {
      headers,
      body,
      signal: AbortSignal.timeout(10_000),
    });
    return answer.kind === "challenge" ? answer.answer : { received: true, polled: answer.polled };
  },
};
