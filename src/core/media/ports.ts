/** Ports: blob storage, media inspection, and the renderer that makes a video on this machine. */

import type { Readable } from "node:stream";
import type { VideoRequest } from "../tasks/task.js";
import type { ImageType } from "./media_types.js";

export interface BlobInfo {
  readonly size: number;
  /** The type given to `put`; for a blob stored without one (older versions), the type of its name. */
  readonly contentType: string;
}

/** No blob is stored under `key`: what every store's `read` throws for a missing key. */
export class BlobMissingError extends Error {
  readonly key: string;
  constructor(key: string, cause?: unknown) {
    super(`No stored file ${key}`, cause === undefined ? undefined : { cause });
    this.name = "BlobMissingError";
    this.key = key;
  }
}

/**
 * Stored files (results, uploads), under keys Reelay builds (`blob_keys.ts`): stores keep them as
 * opaque names. Every method throws `storage_unavailable` when the store fails (retryable when the
 * fault may pass: S3 unreachable or 5xx, a failing or full disk).
 */
export interface BlobStore {
  /**
   * Stores the file at `sourcePath` under `key` (moved or copied; the source may be removed after),
   * with its content type; a put over a key replaces the blob and its type.
   */
  put(key: string, sourcePath: string, contentType: string): Promise<BlobInfo>;
  /** Size and content type; undefined for a missing key. */
  stat(key: string): Promise<BlobInfo | undefined>;
  /** Bytes `start`..`end` inclusive (the whole blob when omitted); a missing key throws `BlobMissingError`. */
  read(key: string, range?: { start: number; end: number }): Promise<Readable>;
  /** Deletes the blob; a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes every blob whose key starts with `prefix` (a task's folder, `tasks/<id>/`). */
  deleteAll(prefix: string): Promise<void>;
  /** Resolves when the store answers (readiness: a bucket HEAD, a probe write on disk); throws otherwise. */
  check(): Promise<void>;
  /**
   * A URL that serves the blob directly for `ttlS` seconds, when the store can hand out one
   * (S3 with presigned downloads); absent: Reelay streams the blob itself.
   */
  downloadUrl?(key: string, opts: { ttlS: number; filename: string }): Promise<string>;
}

export interface GenerateContext {
  /** A private scratch directory for this attempt; removed after. */
  readonly workDir: string;
  /**
   * Local copies (inside workDir) of the request's stored inputs, made by the worker:
   * `imageFiles[i]` is `request.imageKeys[i]`, `sourceVideo` is `request.source.videoKey`.
   */
  readonly files: {
    readonly imageFiles: readonly string[];
    readonly sourceVideo: string | null;
    /** `characterVideos[i]` is the video of `request.characters[i]`. */
    readonly characterVideos?: readonly string[];
  };
  /** Aborted on timeout, cancel or shutdown: stop work and throw. */
  readonly signal: AbortSignal;
  /** Reports progress as a fraction 0–1. */
  onProgress(fraction: number): void;
}

export interface GeneratedVideo {
  /** An MP4 (H.264 + AAC) inside workDir. */
  readonly videoPath: string;
  /** A JPEG inside workDir. */
  readonly thumbnailPath: string;
  /** A JPEG grid of frames inside workDir, or null. */
  readonly spritesheetPath: string | null;
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
  /** Whether the video carries a visible watermark. */
  readonly watermarked: boolean;
  /** Where the mark is, when the provider knows (a remover may need it). */
  readonly watermarkRegion?: Region | null;
  /** The prompt as the provider used it. */
  readonly enhancedPrompt: string;
}

export interface Region {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Takes a visible watermark off a video (locally with ffmpeg, or through a removal service). */
export interface WatermarkRemover {
  readonly name: string;
  /**
   * Writes a clean copy of `videoPath` into `workDir` and returns its path. Throws a ReelayError:
   * retryable when trying again may work.
   */
  remove(input: {
    videoPath: string;
    region: Region | null;
    workDir: string;
    signal: AbortSignal;
  }): Promise<string>;
}

export interface VideoProvider {
  readonly name: string;
  /**
   * Makes the video. Throws a ReelayError: `retryable: true` when trying again may succeed
   * (network trouble, an upstream 5xx), false when it cannot (a broken image, a refused link).
   */
  generate(request: VideoRequest, ctx: GenerateContext): Promise<GeneratedVideo>;
}

export interface VideoInfo {
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
}

export interface ImageInfo {
  /** The type its magic bytes say, which it was decoded as. */
  readonly type: ImageType;
  readonly width: number;
  readonly height: number;
}

/** Reads what an uploaded video or image is (ffprobe in production), by its bytes, never its name. */
export interface MediaInspector {
  /**
   * Size and length of the video at `path`; undefined when its bytes are not an accepted video type
   * (MP4/MOV, WebM) or do not read as one.
   */
  inspectVideo(path: string): Promise<VideoInfo | undefined>;
  /**
   * Type and size of the image at `path`; undefined when its bytes are not an accepted image type
   * (PNG, JPEG, WebP, GIF) or its header does not read as one.
   */
  inspectImage(path: string): Promise<ImageInfo | undefined>;
}
