/**
 * Where a task's files are stored. Each attempt's files carry its own name
 * (`tasks/<task>/<attempt>-video.mp4`) and the task's result names the keys, so an attempt that
 * lost its job to another never overwrites or deletes the other's files. One folder per task, not
 * one more per attempt: on a local disk every new folder is an inode and a journal write (≈ 0.5–1
 * ms, serialised), the largest part of the worker's file work per task (bench/tasks.ts). Tasks made
 * before this layout keep their `tasks/<task>/<attempt>/video.mp4` or `tasks/<task>/video.mp4`
 * keys (read through the result, like any other; removed with the task's folder).
 */
import { extname } from "node:path";
import { newId } from "../ids.js";
import type { Task, VideoRequest } from "../tasks/task.js";
import type { BlobStore } from "./ports.js";

const safe = (taskId: string) => taskId.replace(/[^a-zA-Z0-9_-]/g, "_");

/** Everything stored for a task's results, old layout and new: removed when the task is deleted. */
export const taskPrefixFor = (taskId: string): string => `tasks/${safe(taskId)}/`;

/** The key of an uploaded input (`file`: `reference.png`, `source.mp4`, `character.mp4`…), in a folder of its own. */
export const newUploadKey = (file: string, now: number): string => `uploads/${newId("upload", now)}/${file}`;

const TYPES_BY_EXTENSION: Record<string, string> = {
  ".mp4": "video/mp4",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
};

/**
 * The content type of a blob stored without one (by versions before stores kept the type given
 * to `put`): what its name's extension says, else `application/octet-stream`.
 */
export const contentTypeByName = (key: string): string =>
  TYPES_BY_EXTENSION[extname(key).toLowerCase()] ?? "application/octet-stream";

/** A fresh attempt folder name: unique across processes, sortable by time. */
export const newAttemptDir = (now: number): string => newId("attempt", now);

/** The key of `file` made by attempt `attempt` of the task. */
export const blobKeyFor = (taskId: string, attempt: string, file: string): string =>
  `${taskPrefixFor(taskId)}${attempt}-${file}`;

/**
 * The stored inputs that belong to this task alone: its uploads (images, an uploaded source
 * video). A remix or edit source that is another task's video is that task's, and a character's
 * clip is the character's: neither is ever deleted with this task.
 */
export const uploadKeysOf = (request: VideoRequest): string[] => [
  ...request.imageKeys,
  ...(request.source && request.source.taskId === null ? [request.source.videoKey] : []),
  // A storyboard holds its shots' uploads until each shot's task is made (which then holds them too).
  ...(request.storyboard?.shots.flatMap((s) => s.request.imageKeys) ?? []),
];

/**
 * Deletes the uploads of a task that ended failed or cancelled for good: no retry will read them
 * again. A store that fails now leaves them to the task's deletion (`onError` hears of it).
 */
export async function dropUploads(
  blobs: BlobStore,
  task: Task,
  onError: (e: unknown) => void,
): Promise<void> {
  await Promise.all(uploadKeysOf(task.request).map((k) => blobs.delete(k).catch(onError)));
}
