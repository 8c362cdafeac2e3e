/** Ports of storyboards: which task each shot became, and the film editor that joins the shots. */
import type { Tx } from "../ports.js";

/** A shot that has been started: its index in the storyboard and the child task made for it. */
export interface ShotRecord {
  readonly index: number;
  readonly childId: string;
}

/** Which child task each started shot of a storyboard is. */
export interface StoryboardStore {
  /**
   * Records that shot `index` of `parentId` is task `childId`; false (nothing written) when that
   * shot already has a task: two runs of one step never make the same shot twice.
   */
  addShot(parentId: string, shot: ShotRecord & { createdAt: number }, tx?: Tx): Promise<boolean>;
  /** The started shots of `parentId`, by index. */
  shots(parentId: string, tx?: Tx): Promise<ShotRecord[]>;
  /** Forgets a storyboard's shots (the storyboard was deleted). */
  remove(parentId: string, tx?: Tx): Promise<void>;
}

/** One finished shot as the film editor receives it. */
export interface FilmClip {
  /** The shot's MP4 on local disk (inside the work dir). */
  readonly path: string;
  /** Seconds of the shot that go into the film. */
  readonly durationS: number;
  readonly caption: string | null;
  /** How the film enters this clip (the first clip's is ignored). */
  readonly transition: "cut" | "crossfade";
}

export interface JoinedFilm {
  readonly videoPath: string;
  readonly thumbnailPath: string;
  readonly width: number;
  readonly height: number;
  readonly durationS: number;
}

/** Cuts and joins videos on this machine (the built-in ffmpeg). */
export interface FilmEditor {
  /** Writes the last frame of the MP4 at `videoPath` as a PNG at `pngPath`. */
  lastFrame(videoPath: string, pngPath: string, signal: AbortSignal): Promise<void>;
  /**
   * Joins `clips` into one H.264 + AAC MP4 inside `workDir`: each scaled and padded to
   * `width`×`height` at `fps`, sound kept (silence where a clip has none) or all silent,
   * crossfades overlapping by `crossfadeS`, captions drawn per clip. Throws a ReelayError.
   */
  join(input: {
    clips: readonly FilmClip[];
    width: number;
    height: number;
    fps: number;
    audio: "keep" | "silent";
    crossfadeS: number;
    workDir: string;
    signal: AbortSignal;
    onProgress?: (fraction: number) => void;
  }): Promise<JoinedFilm>;
}

/** The film's length: the clips end to end, less each crossfade's overlap. */
export const filmSeconds = (
  clips: readonly Pick<FilmClip, "durationS" | "transition">[],
  crossfadeS: number,
): number =>
  clips.reduce(
    (sum, c, i) => sum + c.durationS - (i > 0 && c.transition === "crossfade" ? crossfadeS : 0),
    0,
  );
