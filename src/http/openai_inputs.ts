/** Turning OpenAI-style inputs (uploads, data URLs, `video[id]`) into stored blobs and task requests. */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../core/errors.js";
import { newId } from "../core/ids.js";
import type { ModelCapability, Orientation } from "../core/models.js";
import {
  checkSeconds,
  decodeImageDataUrl,
  type ReferenceImage,
  type SourceRequest,
  type UploadedFile,
} from "../core/openai_params.js";
import type { VideoRequest, VideoSource } from "../core/task.js";
import type { AppServices } from "./services.js";

const IMAGE_EXT: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
};

/**
 * Decodes and stores inline (data-URL) images; their blob keys, in order. Every image is decoded
 * before any is stored, so a bad one stores nothing; `param` names each in errors.
 */
export async function storeDataUrls(
  s: AppServices,
  items: readonly { url: string; param: string }[],
): Promise<string[]> {
  const decoded = items.map(({ url, param }) => decodeImageDataUrl(url, s.uploads.maxImageBytes, param));
  const keys: string[] = [];
  for (const ref of decoded) {
    const key = await storeReference(s, ref);
    if (key) keys.push(key);
  }
  return keys;
}

/** Stores an uploaded or data-URL image; returns its blob key (links are fetched by the worker instead). */
export async function storeReference(s: AppServices, ref: ReferenceImage): Promise<string | null> {
  if (ref.kind === "url") return null;
  const mimetype = ref.kind === "file" ? ref.file.mimetype : ref.mimetype;
  const key = `uploads/${newId("upload", s.clock.now())}/reference.${IMAGE_EXT[mimetype] ?? "img"}`;
  let path: string;
  if (ref.kind === "file") {
    path = ref.file.path;
  } else {
    await mkdir(s.uploads.spoolDir, { recursive: true });
    path = join(s.uploads.spoolDir, `${newId("data", s.clock.now())}`);
    await writeFile(path, ref.data);
  }
  await s.blobs.put(key, path, mimetype);
  return key;
}

const orientationOf = (w: number, h: number): Orientation => (h > w ? "portrait" : "landscape");

/** The request of a new OpenAI-API task from its parts. */
export function openAiRequest(
  cap: ModelCapability,
  p: { prompt: string; seconds: number; width: number; height: number; size: string },
  extra: { images?: readonly string[]; imageKeys?: readonly string[]; source?: VideoSource | null } = {},
): VideoRequest {
  return {
    api: "openai",
    model: cap.name,
    family: cap.family,
    prompt: p.prompt,
    orientation: orientationOf(p.width, p.height),
    size: p.size,
    width: p.width,
    height: p.height,
    duration: p.seconds,
    images: extra.images ?? [],
    imageKeys: extra.imageKeys ?? [],
    source: extra.source ?? null,
    watermark: true,
    private: false,
  };
}

/** The model's capabilities; a model since removed from the table falls back to the first one. */
export function capabilityOf(s: AppServices, name: string): ModelCapability {
  const cap = s.models.get(name) ?? s.models.values().next().value;
  if (!cap) throw errors.internal();
  return cap;
}

/**
 * Resolves the source of an edit or extension: `video[id]` (a finished video of the caller's) or
 * an upload (probed, then stored). Returns the source, its model and size, and the new length.
 */
export async function resolveSource(
  s: AppServices,
  ownerId: string,
  req: SourceRequest,
  kind: "edit" | "extend",
): Promise<{ source: VideoSource; cap: ModelCapability; width: number; height: number; seconds: number }> {
  let source: VideoSource;
  let modelName: string;
  let width: number;
  let height: number;
  if (req.videoId !== null) {
    const task = await s.engine.source(ownerId, req.videoId, kind);
    source = { kind, taskId: task.id, videoKey: task.result.videoKey, durationS: task.result.durationS };
    modelName = task.request.model;
    ({ width, height } = task.result);
  } else {
    const upload = req.upload as UploadedFile;
    const info = await s.inspector.inspectVideo(upload.path);
    if (!info) throw errors.invalidField("video", "The uploaded video could not be read as a video");
    const key = `uploads/${newId("upload", s.clock.now())}/source.mp4`;
    await s.blobs.put(key, upload.path, "video/mp4");
    source = { kind, taskId: null, videoKey: key, durationS: info.durationS };
    modelName = "sora-2";
    ({ width, height } = info);
  }
  const cap = capabilityOf(s, modelName);
  const seconds =
    kind === "extend" ? checkSeconds(cap, req.seconds) : Math.max(1, Math.round(source.durationS));
  // The size must be one a renderer can encode: even numbers.
  const even = (n: number) => n - (n % 2);
  return { source, cap, width: even(width), height: even(height), seconds };
}
