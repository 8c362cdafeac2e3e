/**
 * An emulated OpenAI-Videos-shaped API (as OpenAI published it and new-api serves it):
 * `POST /v1/videos` (multipart, as the official client sends it), `GET /v1/videos/{id}`,
 * `GET /v1/videos/{id}/content?variant=video|thumbnail`, `DELETE /v1/videos/{id}`.
 */
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

export async function startOpenAiVideos(opts: { secret: string; port?: number }): Promise<RunningEmulator> {
  const core = new EmulatorCore(opts.secret);
  const view = (t: EmulatedTask) => {
    const { phase, progress } = core.phaseOf(t);
    const own = phase === "queued" ? "queued" : phase === "running" ? "in_progress" : phase;
    const status = phase === "queued" || phase === "running" ? core.runningStatus(t, own) : own;
    const v: Record<string, unknown> = {
      id: t.id,
      object: "video",
      model: t.input.model,
      progress,
      created_at: Math.floor(t.createdAt / 1000),
      completed_at: phase === "completed" ? Math.floor(Date.now() / 1000) : null,
      expires_at: null,
      prompt: t.input.prompt,
      remixed_from_video_id: null,
      seconds: String(t.seconds),
      size: `${t.width}x${t.height}`,
      error:
        phase === "failed"
          ? {
              code: t.behaviour.failCode ?? "moderation_blocked",
              message: t.behaviour.failMessage ?? "blocked by moderation",
            }
          : null,
    };
    if (status !== undefined) v.status = status;
    return v;
  };

  return listen(
    core,
    async (req, res, url) => {
      const m = /^\/v1\/videos(?:\/([^/]+))?(\/content|\/remix)?$/.exec(url.pathname);
      const route = !m
        ? "other"
        : !m[1]
          ? "create"
          : m[2] === "/remix"
            ? "remix"
            : m[2]
              ? url.searchParams.get("variant") === "thumbnail"
                ? "thumbnail"
                : "content"
              : req.method === "DELETE"
                ? "cancel"
                : "query";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (!core.authorised(req))
        return sendJson(res, 401, {
          error: {
            message: "Incorrect API key provided",
            type: "invalid_request_error",
            code: "invalid_api_key",
          },
        });
      if (route === "create" && req.method === "POST") {
        const type = req.headers["content-type"] ?? "";
        if (!type.startsWith("multipart/form-data"))
          return sendJson(res, 400, {
            error: { message: "expected multipart/form-data", type: "invalid_request_error" },
          });
        const form = await new Request("http://x/", {
          method: "POST",
          headers: { "content-type": type },
          body: await readBody(req),
        }).formData();
        const prompt = form.get("prompt");
        if (typeof prompt !== "string" || !prompt)
          return sendJson(res, 400, {
            error: {
              message: "Missing required parameter: 'prompt'.",
              param: "prompt",
              type: "invalid_request_error",
            },
          });
        const size = String(form.get("size") ?? "720x1280");
        const [w, h] = size.split("x").map(Number) as [number, number];
        const input: Record<string, unknown> = {
          prompt,
          model: form.get("model") ?? "sora-2",
          has_input_reference: form.get("input_reference") instanceof Blob,
        };
        const key =
          typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : null;
        const t = core.newTask(
          "video_",
          input,
          { width: w, height: h, seconds: Number(form.get("seconds") ?? 4) },
          key,
        );
        return sendJson(res, 200, view(t));
      }
      const t = m?.[1] ? core.tasks.get(decodeURIComponent(m[1])) : undefined;
      if (!t)
        return sendJson(res, 404, { error: { message: "Video not found", type: "invalid_request_error" } });
      if (route === "query") return sendJson(res, 200, view(t));
      if (route === "remix" && req.method === "POST") {
        if (core.phaseOf(t, false).phase !== "completed")
          return sendJson(res, 400, {
            error: { message: "Only completed videos can be remixed", type: "invalid_request_error" },
          });
        const body = JSON.parse((await readBody(req)).toString("utf8") || "{}") as { prompt?: string };
        const key =
          typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : null;
        const remix = core.newTask(
          "video_",
          { prompt: body.prompt, model: t.input.model, remixed_from: t.id },
          { width: t.width, height: t.height, seconds: t.seconds },
          key,
        );
        return sendJson(res, 200, { ...view(remix), remixed_from_video_id: t.id });
      }
      if (route === "cancel") {
        t.cancelled = true;
        return sendJson(res, 200, { id: t.id, object: "video.deleted", deleted: true });
      }
      if (core.phaseOf(t, false).phase !== "completed")
        return sendJson(res, 409, {
          error: { message: "Video is not ready yet", type: "invalid_request_error" },
        });
      if (route === "content") return sendFile(res, await core.video(t), "video/mp4");
      const png = await core.thumbnail();
      res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
      res.end(png);
    },
    opts.port,
  );
}
