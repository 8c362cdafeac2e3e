/** `GET /v1/video/query?id=`: the unified format's task view. Every field is documented in the README. */

import { z } from "zod";
import { ErrorCode, errors } from "../../core/errors.js";
import { isTaskId } from "../../core/ids.js";
import { loadStoryboardView } from "../../core/storyboards/view.js";
import { attemptsView } from "../../core/tasks/attempt_views.js";
import type { Task } from "../../core/tasks/task.js";
import { taskQueryView } from "../../core/tasks/views.js";
import type { TaskAttempt } from "../../core/upstream/ports.js";
import type { AnswerMemo } from "../answer_memo.js";
import { type Principal, principalOf } from "../auth.js";
import type { Route } from "../route.js";
import { type VideoQueryResponse, videoQueryResponseSchema } from "../schemas.js";
import type { AppServices } from "../services.js";

export const v1VideoQuery: Route = {
  method: "GET",
  url: "/v1/video/query",
  auth: "key",
  summary: "Query a task (the unified format)",
  tag: "Unified API",
  query: { id: { schema: z.string(), required: true, description: "The id create returned" } },
  ok: { status: 200, schema: videoQueryResponseSchema, description: "The task" },
  errors: [ErrorCode.taskNotFound],
  handler: (s) => (req) => videoQuery(s, principalOf(req), req.query),
};

/** The route's answer to `principal` for `query`. */
export async function videoQuery(
  s: AppServices,
  principal: Principal,
  query: unknown,
): Promise<VideoQueryResponse> {
  const { task, attempts } = await queried(s, principal, query);
  return withStoryboard(s, task, queryView(s, task, attempts));
}

/**
 * The same answer as JSON text, served beside the router (hot_reads.ts): made once for each state
 * of a cached task (kept in `texts`: answer_memo.ts), and within the second its links were signed in.
 */
export async function videoQueryText(
  s: AppServices,
  principal: Principal,
  query: unknown,
  texts: AnswerMemo,
): Promise<string> {
  const { task, attempts } = await queried(s, principal, query);
  if (task.request.storyboard)
    return JSON.stringify(await withStoryboard(s, task, queryView(s, task, attempts)));
  const second = task.result ? Math.floor(s.clock.now() / 1000) : 0;
  return texts.text(task, attempts, second, () => queryView(s, task, attempts));
}

async function queried(s: AppServices, principal: Principal, query: unknown) {
  const { id } = taskIdQuery(query, []);
  const task = await s.engine.getOwned(principal.ownerId, id);
  return { task, attempts: await s.attempts.list(task.id) };
}

const queryView = (s: AppServices, task: Task, attempts: readonly TaskAttempt[]) => ({
  ...taskQueryView(task, s),
  attempts: attemptsView(attempts),
});

/** A storyboard's answer: its progress is its shots' (weighted by duration), read live from their tasks. */
async function withStoryboard(
  s: AppServices,
  task: Task,
  view: ReturnType<typeof queryView>,
): Promise<VideoQueryResponse> {
  const storyboard = await loadStoryboardView({ storyboards: s.storyboards, peek: s.engine.peek }, task);
  if (!storyboard) return view;
  const { progress, ...shots } = storyboard;
  return {
    ...view,
    progress,
    detail: {
      ...view.detail,
      pending_info: { ...view.detail.pending_info, progress_pct: progress / 100 },
    },
    storyboard: shots,
  };
}

/**
 * The unified routes' `?id=` (checked), and the other parameters in `others` as given; any other
 * parameter is refused, named.
 */
export function taskIdQuery(
  query: unknown,
  others: readonly string[],
): { id: string; rest: Record<string, unknown> } {
  const { id, ...rest } = query as Record<string, unknown>;
  const unknown = Object.keys(rest).find((k) => !others.includes(k));
  if (unknown !== undefined) throw errors.invalidField(unknown, `Unknown query parameter '${unknown}'`);
  if (id === undefined || id === "")
    throw errors.invalidField("id", "'id' is required: the id that create returned");
  if (typeof id !== "string") throw errors.invalidField("id", "'id' must be given once");
  if (!isTaskId(id)) {
    throw errors.invalidField(
      "id",
      `'id' must look like 'sora-2:task_<26 characters>' (got '${id.slice(0, 80)}')`,
    );
  }
  return { id, rest };
}
