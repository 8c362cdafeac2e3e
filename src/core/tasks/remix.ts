/** A remix: a new task from a finished video and a new prompt, with what the source was made with. */
import type { Task, TaskApi, TaskResult, VideoRequest } from "./task.js";

export function remixRequest(
  from: Task & { result: TaskResult },
  opts: { prompt: string; api: TaskApi; private?: boolean; watermark?: boolean },
): VideoRequest {
  const r = from.request;
  return {
    api: opts.api,
    model: r.model,
    family: r.family,
    prompt: opts.prompt,
    orientation: r.orientation,
    size: r.size,
    width: from.result.width,
    height: from.result.height,
    duration: Math.max(1, Math.round(from.result.durationS)),
    images: [],
    imageKeys: [],
    source: {
      kind: "remix",
      taskId: from.id,
      videoKey: from.result.videoKey,
      durationS: from.result.durationS,
      captionPrompt: r.prompt,
    },
    watermark: opts.watermark ?? r.watermark,
    private: opts.private ?? false,
  };
}
