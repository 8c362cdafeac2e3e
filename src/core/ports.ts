/**
 * Ports: the interfaces core/ needs from the outside world. Adapters implement them; main/ wires them.
 */

import type { Readable } from "node:stream";
import type { ImageType } from "./media_types.js";
import type { Task, TaskError, TaskResult, TaskStatus, VideoRequest } from "./task.js";

/** An open transaction. Opaque to core: only the adapters of one database know what is inside. */
export interface Tx {
  readonly __brand: "Tx";
}

export interface Database {
  /** Runs `fn` in one transaction: everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Cheap check that the database answers (for readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TaskPatch {
  status?: TaskStatus;
  progress?: number;
  attempts?: number;
  error?: TaskError | null;
  failureReason?: string | null;
  enhancedPrompt?: string | null;
  result?: TaskResult | null;
}

export interface TaskStore {
  /** Stores a new task. */
  insert(task: Task, tx?: Tx): Promise<void>;
  /** The task, whoever owns it; undefined when there is none. */
  get(id: string, tx?: Tx): Promise<Task | undefined>;
  /**
   * Applies `patch` if the task's current status is one of `onlyFrom` (when given).
   * Sets `statusUpdatedAt` to `now` when the status changes. Returns the updated task, or
   * undefined when the task does not exist or was not in an allowed status (nothing written).
   */
  update(
    id: string,
    patch: TaskPatch,
    opts: { now: number; onlyFrom?: readonly TaskStatus[] },
    tx?: Tx,
  ): Promise<Task | undefined>;
  /** Counts tasks per status (for health and metrics). */
  countByStatus(): Promise<Record<TaskStatus, number>>;
  /**
   * One page of an owner's tasks ordered by creation time (then id), starting after the task
   * `after` (exclusive) when given, only those in `status` when given. Asks for `limit` rows.
   */
  listForOwner(
    ownerId: string,
    opts: {
      after?: { createdAt: number; id: string };
      limit: number;
      order: "asc" | "desc";
      status?: TaskStatus | undefined;
    },
  ): Promise<Task[]>;
  /** Completed published tasks (the public gallery), newest first, after the cursor task when given. */
  listPublished(opts: { after?: { createdAt: number; id: string }; limit: number }): Promise<Task[]>;
  /** Any owner's tasks, newest first, filtered by status and owner when given (admin search). */
  search(opts: {
    status?: TaskStatus | undefined;
    ownerId?: string | undefined;
    limit: number;
  }): Promise<Task[]>;
  /** The owner's tasks that are pending or processing. */
  countActive(ownerId: string, tx?: Tx): Promise<number>;
  /** Removes a task; true when it existed. */
  delete(id: string, tx?: Tx): Promise<boolean>;
}

export interface ApiKeyRecord {
  readonly id: string;
  readonly ownerId: string;
  readonly name: string;
  /** Hex SHA-256 of the key: the key itself is never stored. */
  readonly hash: string;
  /** First characters of the key, to recognise it in listings. */
  readonly prefix: string;
  readonly createdAt: number;
  /** Epoch ms after which the key no longer works; null: never. */
  readonly expiresAt: number | null;
  /** Epoch ms it was revoked; null: live. */
  readonly revokedAt: number | null;
  /** Models the key may use; null: all. */
  readonly allowedModels: readonly string[] | null;
  /** Requests per minute; null: the configured default (0 there: no limit). */
  readonly ratePerMin: number | null;
  /** Pending + processing tasks the owner may have through this key; null: the default. */
  readonly maxActive: number | null;
}

export interface KeyStore {
  insert(key: ApiKeyRecord): Promise<void>;
  findByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Keys, newest first; an owner's only when `ownerId` is given. */
  list(opts: { ownerId?: string | undefined }): Promise<ApiKeyRecord[]>;
  /** Revokes the key at `now`; the record after, or undefined when there is no such key. */
  revoke(id: string, now: number): Promise<ApiKeyRecord | undefined>;
}

/** A token bucket per key, kept in the shared store so that it holds across processes. */
export interface RateLimiter {
  /**
   * Takes one token from `bucket` (capacity `burst`, refilled at `perMin` a minute). When none is
   * left: `{ ok: false, retryAfterS }`, with nothing taken.
   */
  take(
    bucket: string,
    opts: { perMin: number; burst: number; now: number },
  ): Promise<{ ok: boolean; retryAfterS: number }>;
}

export interface IdempotencyRecord {
  readonly fingerprint: string;
  readonly taskId: string;
  readonly createdAt: number;
}

/** Idempotency keys of creates: one task per (owner, key) within the retention window. */
export interface IdempotencyStore {
  find(ownerId: string, key: string, tx?: Tx): Promise<IdempotencyRecord | undefined>;
  /** Records the key; false when another request recorded it first (nothing written). */
  insert(ownerId: string, key: string, record: IdempotencyRecord, tx?: Tx): Promise<boolean>;
  remove(ownerId: string, key: string, tx?: Tx): Promise<void>;
}

export interface Account {
  readonly ownerId: string;
  /** Credits left. */
  readonly balance: number;
  /** Credits spent (charges minus refunds). Always: balance + used = all top-ups. */
  readonly used: number;
  readonly toppedUp: number;
}

export interface UsageRow {
  /** UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly keyId: string | null;
  readonly model: string | null;
  readonly charged: number;
  readonly refunded: number;
}

/**
 * Credits and the ledger. Every change of a balance is a ledger row written in the same
 * transaction; a task has at most one charge, one settlement and one refund (unique per task),
 * so no retry or crash can charge or refund twice.
 */
export interface Accounts {
  /** Takes `amount` from the owner's balance for `taskId`; false (nothing written) when the balance is short. */
  charge(
    e: { ownerId: string; keyId: string | null; taskId: string; model: string; amount: number; now: number },
    tx: Tx,
  ): Promise<boolean>;
  /** Returns what the task still holds (its charge less what was returned); 0 when nothing is left or it was refunded before. */
  refund(taskId: string, now: number, tx: Tx): Promise<number>;
  /** Returns `amount` of the task's charge (it delivered less than it was charged for); once per task. */
  settle(taskId: string, amount: number, now: number, tx: Tx): Promise<number>;
  topUp(ownerId: string, amount: number, now: number): Promise<Account>;
  get(ownerId: string): Promise<Account>;
  /** Charges and refunds per UTC day, key and model, newest day first. */
  usage(ownerId: string, opts: { sinceMs: number }): Promise<UsageRow[]>;
  /** The sum of the owner's ledger (it must equal the balance). */
  ledgerSum(ownerId: string): Promise<number>;
}

/** A character (cameo): a short span of a video, usable in prompts as `@username`. */
export interface Character {
  readonly id: string;
  readonly ownerId: string;
  readonly username: string;
  readonly name: string;
  readonly videoKey: string;
  readonly startS: number;
  readonly endS: number;
  /** The task it was made from; null for an uploaded video. */
  readonly sourceTaskId: string | null;
  /** A still to show for it (blob key), when there is one. */
  readonly pictureKey: string | null;
  /** Usable by anyone: made from a published video. A character from a private or unlisted video stays its owner's. */
  readonly public: boolean;
  readonly createdAt: number;
}

export interface CharacterStore {
  /** Stores a character; false when its username is taken (nothing written). */
  insert(c: Character): Promise<boolean>;
  get(id: string): Promise<Character | undefined>;
  findByUsernames(usernames: readonly string[]): Promise<Character[]>;
}

export type { ClaimedJob, JobKind, JobPayload, JobQueue, NewJob, QueueDepth } from "./queue_ports.js";

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

/** What the engine reports for monitoring (Prometheus in production, nothing in unit tests). */
/** The metrics the HTTP layer feeds and serves: request observations in, the exposition text out. */
export interface HttpMetrics {
  /** Records one answered HTTP request; `route` is the pattern (`/v1/videos/:id`), not the URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** What `GET /metrics` serves: every metric as text, and that text's content type. */
  readonly registry: { metrics(): Promise<string>; readonly contentType: string };
}

export interface Telemetry {
  /** A provider call ended after `seconds`: `outcome` is "ok" or the error code. */
  providerCall(e: { provider: string; seconds: number; outcome: string }): void;
  /** One poll of an upstream task ended: `outcome` is "ok" or the error code. */
  upstreamPoll?(e: { channel: string; seconds: number; outcome: string }): void;
  /** An upstream reported a status (`known: false` for one Reelay does not recognise). */
  upstreamStatus?(e: { channel: string; status: string; known: boolean }): void;
}

export interface Clock {
  now(): number;
}

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Hears of every task that reaches a final status (completed, failed, cancelled), inside the
 * transaction that puts it there: what it writes (the webhook outbox) commits with the status.
 */
export interface TaskEvents {
  taskEnded(task: Task, tx: Tx): Promise<void>;
}
