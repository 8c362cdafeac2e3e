/**
 * An emulated unified-format relay (the seed's API, as relays publish it): `POST /v1/video/create`
 * → `{id: "sora-2:task_…", status: "pending", status_update_time}`, `GET /v1/video/query?id=` with
 * `detail.pending_info.progress_pct` (a fraction) while running and `video_url`/`thumbnail_url`
 * once completed, `failure_reason` when failed. Results are served under `/files/`.
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

const SIZES: Record<string, Record<string, [number, number]>> = {
  small: { portrait: [720, 1280], landscape: [1280, 720] },
  large: { portrait: [1080, 1920], landscape: [1920, 1080] },
};

export async function startUnifiedRelay(opts: { secret: string; port?: number }): Promise<RunningEmulator> {
  const core = new EmulatorCore(opts.secret);
  let base = "";
  const view = (t: EmulatedTask) => {
    const { phase, progress } = core.phaseOf(t);
    const status =
      phase === "queued"
        ? "pending"
        : phase === "running"
          ? "processing"
          : phase === "completed"
            ? "completed"
            : phase;
    const shown = phase === "queued" || phase === "running" ? core.runningStatus(t, status) : status;
    const body: Record<string, unknown> = {
      id: t.id,
      status_update_time: Date.now(),
      video_url: null,
      enhanced_prompt: null,
      detail: {
        id: t.id,
        input: t.input,
        status: shown,
        pending_info: {
          progress_pct: progress / 100,
          status: shown,
          failure_reason: phase === "failed" ? (t.behaviour.failMessage ?? "content policy violation") : null,
        },
      },
    };
    if (shown !== undefined) body.status = shown;
    if (phase === "completed") {
      Object.assign(body, {
        video_url: `${t.behaviour.resultOrigin ?? base}/files/${encodeURIComponent(t.id)}.mp4`,
        thumbnail_url: `${t.behaviour.resultOrigin ?? base}/files/${encodeURIComponent(t.id)}.png`,
        width: t.width,
        height: t.height,
        enhanced_prompt: `${String(t.input.prompt)} (enhanced)`,
      });
      if (t.behaviour.hasWatermark !== undefined)
        (body.detail as Record<string, unknown>).has_watermark = t.behaviour.hasWatermark;
    }
    if (phase === "failed" && t.behaviour.failCode)
      body.error = { code: t.behaviour.failCode, message: t.behaviour.failMessage ?? "failed" };
    return body;
  };

  const emu = await listen(
    core,
    async (req, res, url) => {
      const route =
        url.pathname === "/v1/video/create"
          ? "create"
          : url.pathname === "/v1/video/query"
            ? "query"
            : url.pathname === "/v1/video/cancel"
              ? "cancel"
              : url.pathname.startsWith("/files/")
                ? url.pathname.endsWith(".png")
                  ? "thumbnail"
                  : "content"
                : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      if (route !== "content" && route !== "thumbnail" && !core.authorised(req))
        return sendJson(res, 401, { error: { message: "invalid token", type: "authentication_error" } });
      if (route === "create" && req.method === "POST") {
        let input: Record<string, unknown>;
        try {
          input = JSON.parse((await readBody(req)).toString("utf8")) as Record<string, unknown>;
        } catch {
          return sendJson(res, 400, { error: { message: "body is not JSON", code: "invalid_json" } });
        }
        if (typeof input.prompt !== "string" || !input.prompt)
          return sendJson(res, 400, { error: { message: "prompt is required", code: "invalid_request" } });
        const [w, h] = SIZES[String(input.size ?? "large")]?.[String(input.orientation ?? "portrait")] ?? [
          720, 1280,
        ];
        const key =
          typeof req.headers["idempotency-key"] === "string" ? req.headers["idempotency-key"] : null;
        const t = core.newTask(
          "sora-2:task_",
          input,
          { width: w, height: h, seconds: Number(input.duration ?? 10) },
          key,
        );
        return sendJson(res, 200, { id: t.id, status: "pending", status_update_time: t.createdAt });
      }
      const id =
        url.searchParams.get("id") ??
        decodeURIComponent(url.pathname.replace(/^\/files\//, "").replace(/\.(mp4|png)$/, ""));
      const t = core.tasks.get(id);
      if (!t) return sendJson(res, 404, { error: { message: `task ${id} not found`, code: "not_found" } });
      if (route === "query") return sendJson(res, 200, view(t));
      if (route === "cancel" && req.method === "POST") {
        t.cancelled = true;
        return sendJson(res, 200, { id: t.id, status: "cancelled" });
      }
      if (route === "content") return sendFile(res, await core.video(t), "video/mp4");
      if (route === "thumbnail") {
        const png = await core.thumbnail();
        res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
        return void res.end(png);
      }
      sendJson(res, 404, { error: { message: `no route ${req.method} ${url.pathname}` } });
    },
    opts.port,
  );
  base = emu.url;
  return emu;
}
