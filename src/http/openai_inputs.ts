/** Turning OpenAI-style inputs (uploads, data URLs, `video[id]`) into stored blobs and task requests. */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ModelCapability, Orientation } from "../core/catalogue/models.js";
import { errors } from "../core/errors.js";
import { newId } from "../core/ids.js";
import { newUploadKey } from "../core/media/blob_keys.js";
import {
  ALLOWED_IMAGES_TEXT,
  ALLOWED_VIDEOS_TEXT,
  IMAGE_MIME,
  type ImageType,
} from "../core/media/media_types.js";
import {
  checkSeconds,
  decodeImageDataUrl,
  type ReferenceImage,
  type SourceRequest,
  type UploadedFile,
} from "../core/tasks/openai_params.js";
import type { ImageRole, VideoRequest, VideoSource } from "../core/tasks/task.js";
import type { AppServices } from "./services.js";

const IMAGE_EXT: Record<ImageType, string> = { png: "png", jpeg: "jpg", webp: "webp", gif: "gif" };

/**
 * Decodes and stores inline (data-URL) images; their blob keys, in order. Every image is decoded and
 * checked before any is stored, so a bad one stores nothing; `param` names each in errors.
 */
export async function storeDataUrls(
  s: AppServices,
  items: readonly { url: string; param: string }[],
): Promise<string[]> {
  const decoded = items.map(({ url, param }) => ({
    param,
    data: decodeImageDataUrl(url, s.uploads.maxImageBytes, param).data,
  }));
  const spooled: { path: string; param: string }[] = [];
  try {
    for (const { data, param } of decoded) spooled.push({ path: await spool(s, data), param });
    const checked: { path: string; type: ImageType }[] = [];
    for (const { path, param } of spooled) checked.push({ path, type: await checkedImage(s, path, param) });
    const keys: string[] = [];
    for (const { path, type } of checked) keys.push(await storeImage(s, path, type));
    return keys;
  } finally {
    // Stored files have moved into the blob store; what is left is a refused batch's.
    await Promise.all(spooled.map(({ path }) => rm(path, { force: true })));
  }
}

/** A request's input images where they ended up: links, stored blobs, and their roles in that order. */
export interface StoredInputs {
  readonly images: string[];
  readonly imageKeys: string[];
  readonly imageRoles?: ImageRole[];
}

/**
 * Stores a request's uploaded and inline images (each checked by its bytes before any is stored,
 * so a refused one stores nothing; with `dryRun`, none is); links stay links. Roles follow the order VideoRequest reads
 * them in: links first, then stored images. A null role anywhere: no roles (the default reading).
 */
export async function storeInputs(
  s: AppServices,
  items: readonly { ref: ReferenceImage; role: ImageRole | null; param: string }[],
  opts: { dryRun?: boolean } = {},
): Promise<StoredInputs> {
  const links = items.filter((i) => i.ref.kind === "url");
  const uploads = items.filter((i) => i.ref.kind !== "url");
  const spooled: { path: string; param: string; temp: boolean }[] = [];
  try {
    for (const { ref, param } of uploads) {
      if (ref.kind === "file") spooled.push({ path: ref.file.path, param, temp: false });
      else if (ref.kind === "bytes") spooled.push({ path: await spool(s, ref.data), param, temp: true });
    }
    const checked: { path: string; type: ImageType }[] = [];
    for (const { path, param } of spooled) checked.push({ path, type: await checkedImage(s, path, param) });
    const imageKeys: string[] = [];
    // A dry run checks every image as a create would and stores none: its keys only count them.
    for (const { path, type } of checked)
      imageKeys.push(opts.dryRun ? `dry-run/${imageKeys.length}` : await storeImage(s, path, type));
    const roles = [...links, ...uploads].map((i) => i.role);
    return {
      images: links.map((i) => (i.ref as { url: string }).url),
      imageKeys,
      ...(roles.every((r): r is ImageRole => r !== null) && roles.length > 0 ? { imageRoles: roles } : {}),
    };
  } finally {
    await Promise.all(spooled.filter((x) => x.temp).map(({ path }) => rm(path, { force: true })));
  }
}

async function spool(s: AppServices, data: Buffer): Promise<string> {
  await mkdir(s.uploads.spoolDir, { recursive: true });
  const path = join(s.uploads.spoolDir, newId("data", s.clock.now()));
  await writeFile(path, data);
  return path;
}

/**
 * The type of the image at `path`, judged by its bytes and a read of its header with that type's
 * decoder only: the declared content type and name are ignored (bytes sent as image/png may be an HLS
 * playlist). A 400 naming `param` otherwise.
 */
async function checkedImage(s: AppServices, path: string, param: string): Promise<ImageType> {
  const info = await s.inspector.inspectImage(path);
  if (!info) {
    throw errors.invalidField(param, `'${param}' must be ${ALLOWED_IMAGES_TEXT} that can be decoded`);
  }
  return info.type;
}

/** Stores a checked image under a new upload key, typed by its bytes. */
async function storeImage(s: AppServices, path: string, type: ImageType): Promise<string> {
  const key = newUploadKey(`reference.${IMAGE_EXT[type]}`, s.clock.now());
  await s.blobs.put(key, path, IMAGE_MIME[type]);
  return key;
}

const orientationOf = (w: number, h: number): Orientation => (h > w ? "portrait" : "landscape");

/** The request of a new OpenAI-API task from its parts. */
export function openAiRequest(
  cap: ModelCapability,
  p: { prompt: string; seconds: number; width: number; height: number; size: string },
  extra: {
    images?: readonly string[];
    imageKeys?: readonly string[];
    imageRoles?: readonly ImageRole[];
    source?: VideoSource | null;
  } = {},
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
    ...(extra.imageRoles ? { imageRoles: extra.imageRoles } : {}),
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
    source = {
      kind,
      taskId: task.id,
      videoKey: task.result.videoKey,
      durationS: task.result.durationS,
      captionPrompt: task.request.prompt,
    };
    modelName = task.request.model;
    ({ width, height } = task.result);
  } else {
    const upload = req.upload as UploadedFile;
    const info = await s.inspector.inspectVideo(upload.path);
    if (!info) throw errors.invalidField("video", `'video' must be ${ALLOWED_VIDEOS_TEXT} that can be read`);
    const key = newUploadKey("source.mp4", s.clock.now());
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
