/** `GET /v1/videos/{id}`: any task of the caller's, whichever API created it. */

import { ErrorCode } from "../../core/errors.js";
import { attemptsView } from "../../core/tasks/attempt_views.js";
import type { Task } from "../../core/tasks/task.js";
import type { TaskAttempt } from "../../core/upstream/ports.js";
import type { AnswerMemo } from "../answer_memo.js";
import { type Principal, principalOf } from "../auth.js";
import type { Route } from "../route.js";
import { openAiVideoSchema } from "../schemas.js";
import type { AppServices } from "../services.js";
import { type OpenAiVideo, openAiVideo } from "../views/openai_video.js";

export const v1VideosRetrieve: Route = {
  method: "GET",
  url: "/v1/videos/:id",
  auth: "key",
  summary: "Retrieve a video",
  tag: "OpenAI-compatible API",
  ok: { status: 200, schema: openAiVideoSchema, description: "The video" },
  errors: [ErrorCode.taskNotFound],
  handler: (s) => (req) => retrieveVideo(s, principalOf(req), (req.params as { id: string }).id),
};

/** The route's answer to `principal` for the video `id`. */
export async function retrieveVideo(s: AppServices, principal: Principal, id: string): Promise<OpenAiVideo> {
  const { task, attempts } = await retrieved(s, principal, id);
  return videoView(task, attempts);
}

/** The same answer as JSON text, served beside the router (hot_reads.ts); kept per state of a cached task in `texts`. */
export async function retrieveVideoText(
  s: AppServices,
  principal: Principal,
  id: string,
  texts: AnswerMemo,
): Promise<string> {
  const { task, attempts } = await retrieved(s, principal, id);
  return texts.text(task, attempts, 0, () => videoView(task, attempts));
}

async function retrieved(s: AppServices, principal: Principal, id: string) {
  const task = await s.engine.getOwned(principal.ownerId, id);
  return { task, attempts: await s.attempts.list(task.id) };
}

const videoView = (task: Task, attempts: readonly TaskAttempt[]): OpenAiVideo => ({
  ...openAiVideo(task),
  attempts: attemptsView(attempts),
});
