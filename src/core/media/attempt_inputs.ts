/** What an attempt needs on local disk before its provider runs, and a sleep an abort can cut short. */
import { createWriteStream } from "node:fs";
import { rm, rmdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { errors, isReelayError } from "../errors.js";
import type { VideoRequest } from "../tasks/task.js";
import { BlobMissingError, type BlobStore, type GenerateContext } from "./ports.js";

/** Copies the request's stored inputs (uploads, a source video, character clips) into `workDir`. */
export async function materialiseInputs(
  blobs: BlobStore,
  request: VideoRequest,
  workDir: string,
): Promise<GenerateContext["files"]> {
  const copy = async (key: string, file: string) => {
    const path = join(workDir, file);
    try {
      await pipeline(await blobs.read(key), createWriteStream(path));
    } catch (e) {
      if (isReelayError(e)) throw e;
      if (e instanceof BlobMissingError)
        throw errors.renderFailed("an input of this task was deleted before it ran", { retryable: false });
      // The store's own failures come typed from read(); what is left is the copy cut half-way
      // (the store went away mid-stream, the scratch disk failed): a fault that may pass.
      throw errors.storageUnavailable("copying an input of this task", { retryable: true, cause: e });
    }
    return path;
  };
  const imageFiles = await Promise.all(request.imageKeys.map((k, i) => copy(k, `upload-${i}`)));
  const sourceVideo = request.source ? await copy(request.source.videoKey, "source.mp4") : null;
  const characterVideos = await Promise.all(
    (request.characters ?? []).map((c, i) => copy(c.videoKey, `character-${i}.mp4`)),
  );
  return { imageFiles, sourceVideo, characterVideos };
}

export const abortableSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * Removes an attempt's scratch dir. After a render its files have moved into the blob store, so
 * one rmdir usually does it; anything left behind (a failed attempt) takes the recursive way.
 */
export async function removeWorkDir(dir: string): Promise<void> {
  try {
    await rmdir(dir);
  } catch {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
