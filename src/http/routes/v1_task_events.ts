/**
 * `GET /v1/videos/{id}/events` (the OpenAI-style view in each event's `data`) and
 * `GET /v1/video/events?id=` (the unified view): a task's changes as Server-Sent Events, resumable
 * with Last-Event-ID (see task_stream.ts).
 */
import { z } from "zod";
import { ErrorCode, errors } from "../../core/errors.js";
import { attemptsView } from "../../core/tasks/attempt_views.js";
import type { Task } from "../../core/tasks/task.js";
import { taskQueryView } from "../../core/tasks/views.js";
import type { PlainAnswer, QueryParam, Route } from "../route.js";
import { resumeAfter, streamTaskEvents } from "../task_stream.js";
import { openAiVideo } from "../views/openai_video.js";
import { taskIdQuery } from "./v1_video_query.js";

const lastEventId: QueryParam = {
  schema: z.string().regex(/^\d*$/),
  description:
    "Resume after this event (its `id:`), for clients that cannot send the Last-Event-ID header; the header wins when both are given",
};

const stream = (view: string): PlainAnswer => ({
  status: 200,
  contentType: "text/event-stream",
  description: `Server-Sent Events: \`id:\` the event's number in the task's feed, \`event:\` its type (video.pending, video.processing, video.progress, video.attempt, video.completed, video.failed, video.cancelled), \`data:\` ${view} at that event. Ends after the final event.`,
});

const ERRORS = [ErrorCode.taskNotFound, ErrorCode.tooManyStreams];

export const v1VideosEvents: Route = {
  method: "GET",
  url: "/v1/videos/:id/events",
  auth: "key",
  summary: "Stream a video's progress as Server-Sent Events",
  tag: "OpenAI-compatible API",
  query: { last_event_id: lastEventId },
  ok: stream("the video object as `GET /v1/videos/{id}` shows it"),
  errors: ERRORS,
  handler: (s) => async (req, reply) => {
    const { id } = req.params as { id: string };
    const { last_event_id, ...rest } = req.query as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw errors.invalidField(extra, `Unknown query parameter '${extra}'`);
    const after = resumeAfter(req, last_event_id);
    // With the task's attempts as they stand (failover lineage), as retrieve shows them.
    const view = async (t: Task) => ({
      ...openAiVideo(t),
      attempts: attemptsView(await s.attempts.list(t.id)),
    });
    return streamTaskEvents(s, req, reply, { id, after, view });
  },
};

export const v1VideoEvents: Route = {
  method: "GET",
  url: "/v1/video/events",
  auth: "key",
  summary: "Stream a task's progress as Server-Sent Events (the unified format)",
  tag: "Unified API",
  query: {
    id: { schema: z.string(), required: true, description: "The id create returned" },
    last_event_id: lastEventId,
  },
  ok: stream("the task as `GET /v1/video/query` shows it"),
  errors: ERRORS,
  handler: (s) => async (req, reply) => {
    const { id, rest } = taskIdQuery(req.query, ["last_event_id"]);
    const after = resumeAfter(req, rest.last_event_id);
    const view = async (t: Task) => ({
      ...taskQueryView(t, s),
      attempts: attemptsView(await s.attempts.list(t.id)),
    });
    return streamTaskEvents(s, req, reply, { id, after, view });
  },
};
