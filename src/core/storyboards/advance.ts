/**
 * One step of a storyboard, run by its `storyboard` job: look at its shots and do the one thing
 * that follows. Start the next shot (a child task with its render job, the previous shot's last
 * frame as its first frame where its model takes one), or fail the storyboard when a shot failed
 * for good, or join the finished shots into the film. Every step reads the state afresh, so a step
 * run twice, or after a crash, never redoes a finished shot (the shot table makes each shot once).
 */
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ModelTable } from "../catalogue/models.js";
import { errors, isReelayError, type ReelayError } from "../errors.js";
import { newTaskId } from "../ids.js";
import type { JobQueue } from "../jobs/ports.js";
import { removeWorkDir } from "../media/attempt_inputs.js";
import { blobKeyFor, dropUploads, newAttemptDir, newUploadKey } from "../media/blob_keys.js";
import { BlobMissingError, type BlobStore } from "../media/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import { newTask, type TaskLifecycle } from "../tasks/lifecycle.js";
import type { TaskStore } from "../tasks/ports.js";
import {
  isTerminal,
  type StoryboardPlan,
  type Task,
  type TaskResult,
  type VideoRequest,
} from "../tasks/task.js";
import type { FilmEditor, StoryboardStore } from "./ports.js";
import { storyboardProgress } from "./view.js";

export interface StoryboardSettings {
  /** Attempts of each shot's render job (the engine's own setting). */
  readonly maxAttempts: number;
  /** Each shot's deadline, from when it starts. */
  readonly taskTimeoutS: number;
  readonly scratchDir: string;
  /** Frames per second of the film. */
  readonly fps: number;
}

export interface StoryboardDeps {
  readonly db: Database;
  readonly tasks: TaskStore;
  readonly lifecycle: TaskLifecycle;
  readonly queue: JobQueue;
  readonly blobs: BlobStore;
  readonly storyboards: StoryboardStore;
  readonly editor: FilmEditor;
  readonly models: ModelTable;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly settings: StoryboardSettings;
  /** A shot's render job was committed: wake the local worker. */
  readonly onEnqueued: () => void;
  /** A shot was cancelled: stop its render in this process. */
  readonly onStopped: (taskId: string) => void;
}

/** Another run of this step made the shot first: this run's work is dropped. */
class ShotTaken extends Error {}

type Storyboard = Task & { request: VideoRequest & { storyboard: StoryboardPlan } };

/**
 * Whether a model reads a first frame: its catalogue entry says so, and a model of the seed's
 * fields only (no `accepts`, the sora-2 family) reads its first image as one, as Sora's
 * `input_reference` is.
 */
function takesFirstFrame(models: ModelTable, model: string): boolean {
  const cap = models.get(model);
  if (!cap) return false;
  return cap.accepts ? cap.accepts.firstFrame : cap.maxImages > 0;
}

export function createStoryboardSteps(deps: StoryboardDeps) {
  const { db, tasks, lifecycle, queue, blobs, storyboards, editor, clock, settings } = deps;

  /** Copies a stored blob to a file of the work dir. */
  async function fetchBlob(key: string, path: string): Promise<string> {
    try {
      await pipeline(await blobs.read(key), createWriteStream(path));
    } catch (e) {
      if (isReelayError(e)) throw e;
      // Deleted under the storyboard: no retry brings it back.
      if (e instanceof BlobMissingError)
        throw errors.renderFailed("a shot's video was deleted before the film was made", {
          retryable: false,
        });
      throw errors.storageUnavailable("reading a shot's video", { retryable: true, cause: e });
    }
    return path;
  }

  /** The previous shot's last frame, stored as an upload of the next shot. */
  async function seamFrame(prev: Task, workDir: string, signal: AbortSignal): Promise<string> {
    if (!prev.result) throw new Error(`shot ${prev.id} has no result`);
    const video = await fetchBlob(prev.result.videoKey, join(workDir, "previous.mp4"));
    const png = join(workDir, "last-frame.png");
    await editor.lastFrame(video, png, signal);
    const key = newUploadKey("last-frame.png", clock.now());
    await blobs.put(key, png, "image/png");
    return key;
  }

  async function startShot(sb: Storyboard, index: number, prev: Task | undefined, signal: AbortSignal) {
    const shot = sb.request.storyboard.shots[index];
    if (!shot) return;
    const own = shot.request.images.length + shot.request.imageKeys.length;
    let request: VideoRequest = { ...shot.request, shotOf: { parentId: sb.id, index } };
    let frameKey: string | null = null;
    if (prev && own === 0 && takesFirstFrame(deps.models, shot.request.model)) {
      const workDir = join(settings.scratchDir, `storyboard-${newAttemptDir(clock.now())}`);
      await mkdir(workDir, { recursive: true });
      try {
        frameKey = await seamFrame(prev, workDir, signal);
      } finally {
        await removeWorkDir(workDir);
      }
      const roles = deps.models.get(shot.request.model)?.accepts
        ? { imageRoles: ["first_frame" as const] }
        : {};
      request = { ...request, imageKeys: [frameKey], ...roles };
    }
    const now = clock.now();
    const child = newTask({
      id: newTaskId(request.family, now),
      ownerId: sb.ownerId,
      request,
      now,
      deadlineAt: now + settings.taskTimeoutS * 1000,
    });
    try {
      await db.transaction(async (tx) => {
        if (!(await storyboards.addShot(sb.id, { index, childId: child.id, createdAt: now }, tx)))
          throw new ShotTaken();
        await lifecycle.open(child, { keyId: null }, tx);
        await queue.enqueue(
          {
            payload: { kind: "render", version: 1, taskId: child.id },
            runAt: now,
            maxAttempts: settings.maxAttempts,
          },
          tx,
        );
        if (sb.status === "pending") await lifecycle.start(sb, 1, tx);
      });
    } catch (e) {
      if (frameKey) await blobs.delete(frameKey).catch(() => undefined);
      if (e instanceof ShotTaken) return;
      throw e;
    }
    deps.logger.info({ taskId: sb.id, shot: index, child: child.id }, "storyboard shot started");
    deps.onEnqueued();
  }

  async function fail(sb: Storyboard, err: ReelayError) {
    const failed = await db.transaction((tx) => lifecycle.fail(sb, err, tx));
    if (failed) await dropUploads(blobs, failed, () => undefined);
    deps.logger.warn({ taskId: sb.id, code: err.code, message: err.message }, "storyboard failed");
  }

  /** The storyboard ended (cancelled, failed): its shots still running end with it. */
  async function stopShots(children: readonly (Task | undefined)[]) {
    for (const child of children) {
      if (!child || isTerminal(child.status)) continue;
      const cancelled = await db.transaction((tx) => lifecycle.cancel(child.id, tx));
      deps.onStopped(child.id);
      if (cancelled) await dropUploads(blobs, cancelled, () => undefined);
    }
  }

  /** Joins the finished shots into the film and completes the storyboard with it. */
  async function joinFilm(sb: Storyboard, shots: readonly Task[], signal: AbortSignal): Promise<void> {
    const plan = sb.request.storyboard;
    const attempt = newAttemptDir(clock.now());
    const workDir = join(settings.scratchDir, `storyboard-${attempt}`);
    await mkdir(workDir, { recursive: true });
    try {
      const clips = [];
      for (const [i, child] of shots.entries()) {
        const result = child.result as TaskResult;
        const shot = plan.shots[i];
        clips.push({
          path: await fetchBlob(result.videoKey, join(workDir, `shot-${i}.mp4`)),
          durationS: result.durationS,
          caption: shot?.caption ?? null,
          transition: shot?.transition ?? "cut",
        });
      }
      const film = await editor.join({
        clips,
        width: sb.request.width,
        height: sb.request.height,
        fps: settings.fps,
        audio: plan.audio,
        crossfadeS: plan.crossfadeS,
        workDir,
        signal,
      });
      const videoKey = blobKeyFor(sb.id, attempt, "video.mp4");
      const thumbnailKey = blobKeyFor(sb.id, attempt, "thumbnail.jpg");
      const [stored] = await Promise.all([
        blobs.put(videoKey, film.videoPath, "video/mp4"),
        blobs.put(thumbnailKey, film.thumbnailPath, "image/jpeg"),
      ]);
      const result: TaskResult = {
        videoKey,
        thumbnailKey,
        spritesheetKey: null,
        width: film.width,
        height: film.height,
        durationS: film.durationS,
        bytes: stored.size,
        watermarked: shots.some((c) => c.result?.watermarked === true),
      };
      const done = await db.transaction((tx) =>
        lifecycle.rendered(sb, { result, enhancedPrompt: null, note: null }, tx),
      );
      // Cancelled or joined by another run meanwhile: this run's film is nobody's.
      if (!done) await Promise.all([blobs.delete(videoKey), blobs.delete(thumbnailKey)]);
      else deps.logger.info({ taskId: sb.id, seconds: film.durationS }, "storyboard film joined");
    } finally {
      await removeWorkDir(workDir);
    }
  }

  return {
    /** Moves the storyboard `id` on by one step (see the file's comment). */
    async advance(id: string, signal: AbortSignal): Promise<void> {
      const task = await tasks.get(id);
      const records = await storyboards.shots(id);
      const children = await Promise.all(records.map((r) => tasks.get(r.childId)));
      if (!task) {
        // The storyboard was deleted: its shot that was running stops here, and nothing follows.
        await stopShots(children);
        return storyboards.remove(id);
      }
      if (!task.request.storyboard) return;
      const sb = task as Storyboard;
      if (isTerminal(sb.status)) return stopShots(children);
      const done: Task[] = [];
      for (const [index] of sb.request.storyboard.shots.entries()) {
        const at = records.findIndex((r) => r.index === index);
        if (at < 0) {
          // The finished shots' share of the work, for readers of the stored task (lists, webhooks).
          if (done.length > 0)
            await lifecycle.progress(sb.id, storyboardProgress(sb.request.storyboard, done));
          return startShot(sb, index, done.at(-1), signal);
        }
        const child = children[at];
        if (child?.status === "completed") {
          done.push(child);
          continue;
        }
        if (!child || isTerminal(child.status))
          return fail(sb, errors.shotFailed(index, child?.error ?? null));
        return; // Still running: its end enqueues the next step.
      }
      return joinFilm(sb, done, signal);
    },
  };
}

export type StoryboardSteps = ReturnType<typeof createStoryboardSteps>;
