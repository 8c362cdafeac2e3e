/**
 * Builders of the ffmpeg command lines that make a video from an earlier one: `remix` and `edit`
 * restyle the source's frames under the new prompt; `extend` appends a new segment that starts from the
 * source's last frame. Same encoding as the image/background mode (filtergraph.ts).
 */
import { captionFilter, DEFAULT_FPS, encodeArgs, promptSeed, STEREO_48K, toneGraph } from "./filtergraph.js";
import { num, requireAbsolute } from "./graph-util.js";
import { inputArgs, type VideoInput } from "./media-input.js";
import { finishVideo, type Overlays, overlayInputArgs, overlayPaths } from "./overlays.js";
import { panningStill } from "./slides.js";

export type SourceKind = "remix" | "edit" | "extend";

export interface SourceRenderInputs {
  readonly kind: SourceKind;
  readonly width: number;
  readonly height: number;
  /** Seconds to make: the whole output for remix/edit, the added segment for extend. */
  readonly durationS: number;
  /** The source video (absolute path, sniffed type). */
  readonly source: VideoInput;
  /** The source's length (its video stream's, when known). */
  readonly sourceDurationS: number;
  /** Whether the source has a sound track: extend keeps it under the source's part. */
  readonly sourceHasAudio: boolean;
  /** The new prompt: chooses colours, pan direction and tone. */
  readonly prompt: string;
  /** Absolute path of the wrapped new caption, or null to draw none. */
  readonly captionPath: string | null;
  /**
   * The rows (at the output's size) where the source shows its own caption (caption.ts captionBand),
   * covered before the new caption is drawn so the two never overlap; null when it has none.
   */
  readonly sourceCaptionBand?: { y: number; height: number } | null;
  readonly fontPath: string;
  readonly outputPath: string;
  readonly fps?: number;
  /** The mark and character insets drawn over the picture (overlays.ts); none when absent. */
  readonly overlays?: Overlays;
}

/**
 * The new caption is drawn where the old one was, on a darker box than usual: the old one is covered
 * (coverCaption), and what is left of a source's lower edge stays quiet behind the new text.
 */
const SOURCE_CAPTION_BOX_OPACITY = 0.75;
/** The extension pans over its still less than image slides do: a gentler cut from the source's motion. */
const EXTEND_OVERSCAN = 1.08;
/**
 * The extension's still is the last of the source's frames in this final stretch: only these are held
 * (reversed) in memory, at most 15 frames at 30 fps.
 */
const LAST_FRAME_WINDOW_S = 0.5;

/** Seconds of the video `inputs` produce. */
export function sourceOutputDurationS(
  inputs: Pick<SourceRenderInputs, "kind" | "durationS" | "sourceDurationS">,
) {
  return inputs.kind === "extend" ? inputs.sourceDurationS + inputs.durationS : inputs.durationS;
}

/** The complete ffmpeg argv (without the binary) for one source mode. */
export function buildSourceRenderArgs(inputs: SourceRenderInputs): string[] {
  requireAbsolute([
    inputs.source.path,
    ...overlayPaths(inputs.overlays),
    inputs.fontPath,
    inputs.outputPath,
    inputs.captionPath ?? "/",
  ]);
  return inputs.kind === "extend" ? buildExtendArgs(inputs) : buildRestyleArgs(inputs);
}

/**
 * Remix and edit: the source covers the frame (looped when shorter than the output), recoloured, with
 * the new caption and a new soundtrack. Remix turns the hues by 90–270° (a new palette); edit keeps
 * them and lifts contrast and saturation (the same scene, retouched).
 */
function buildRestyleArgs(inputs: SourceRenderInputs): string[] {
  const { width: w, height: h, durationS: d } = inputs;
  const fps = inputs.fps ?? DEFAULT_FPS;
  const seed = promptSeed(inputs.prompt);
  const look = inputs.kind === "remix" ? `hue=h=${90 + (seed % 181)}` : "eq=contrast=1.12:saturation=1.3";
  const picture = [`[0:v]${coverFrame(w, h, fps)}`, ...coverCaption(inputs), look, ...caption(inputs)].join(
    ",",
  );
  const video = finishVideo(picture, {
    w,
    h,
    fps,
    fontPath: inputs.fontPath,
    firstInput: 1,
    overlays: inputs.overlays,
  });
  const loop = inputs.sourceDurationS < d ? ["-stream_loop", "-1"] : [];
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y"],
    ...inputArgs(inputs.source, loop),
    ...overlayInputArgs(inputs.overlays),
    ...["-filter_complex", `${video};${toneGraph(seed, d, "a")}`, "-map", "[v]", "-map", "[a]"],
    ...encodeArgs(fps, d, inputs.outputPath),
  ];
}

/**
 * Extend: the source (re-encoded to the output's size and rate) then `durationS` seconds panning over
 * its last frame under the new caption, joined by `concat`. One decode of the source serves both: a
 * `split` branch keeps only the final half-second and `reverse` puts its last frame first. The sound is
 * the source's own under its part (silence if it has none is not enough: a new tone fills it) and a new
 * tone under the extension.
 */
function buildExtendArgs(inputs: SourceRenderInputs): string[] {
  const { width: w, height: h, durationS: d } = inputs;
  const fps = inputs.fps ?? DEFAULT_FPS;
  const s = inputs.sourceDurationS;
  const seed = promptSeed(inputs.prompt);
  const frames = Math.max(1, Math.round(d * fps));
  const newSegment = panningStill(
    "last",
    { w, h, fps, frames, direction: seed % 4, overscan: EXTEND_OVERSCAN },
    caption(inputs),
  );
  const graph = [
    `[0:v]${coverFrame(w, h, fps)},format=yuv420p,trim=duration=${num(s)},split[src][tail]`,
    `${[
      `[tail]trim=start=${num(Math.max(0, s - LAST_FRAME_WINDOW_S))},reverse,trim=end_frame=1`,
      ...coverCaption(inputs),
    ].join(",")}[last]`,
    `${newSegment},format=yuv420p[new]`,
  ];
  if (inputs.sourceHasAudio) {
    graph.push(
      // Exactly the source's length: apad fills a short track, atrim cuts a long one.
      `[0:a]aresample=48000,${STEREO_48K},apad,atrim=duration=${num(s)},asetpts=PTS-STARTPTS[srca]`,
      toneGraph(seed, d, "newa"),
      "[src][srca][new][newa]concat=n=2:v=1:a=1[cat][a]",
    );
  } else {
    graph.push(toneGraph(seed, s + d, "a"), "[src][new]concat=n=2:v=1:a=0[cat]");
  }
  graph.push(
    finishVideo("[cat]null", {
      w,
      h,
      fps,
      fontPath: inputs.fontPath,
      firstInput: 1,
      overlays: inputs.overlays,
    }),
  );
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y", ...inputArgs(inputs.source)],
    ...overlayInputArgs(inputs.overlays),
    ...["-filter_complex", graph.join(";"), "-map", "[v]", "-map", "[a]"],
    ...encodeArgs(fps, s + d, inputs.outputPath),
  ];
}

/** Any source, whatever its size, rate or start time, as square-pixel w×h frames at `fps` from t=0. */
const coverFrame = (w: number, h: number, fps: number): string =>
  [
    "setpts=PTS-STARTPTS",
    `scale=${w}:${h}:force_original_aspect_ratio=increase`,
    `crop=${w}:${h}`,
    "setsar=1",
    `fps=${fps}`,
  ].join(",");

/**
 * An opaque band over the source's own caption: drawn over, the old text would show through or beside
 * the new one (two captions in one frame). Black, like the caption box, across the whole width.
 */
const coverCaption = ({ sourceCaptionBand: band }: SourceRenderInputs): string[] =>
  band ? [`drawbox=x=0:y=${band.y}:w=iw:h=${band.height}:color=black@1:t=fill`] : [];

const caption = (inputs: SourceRenderInputs): string[] =>
  inputs.captionPath === null
    ? []
    : [
        captionFilter(
          inputs.captionPath,
          inputs.fontPath,
          inputs.width,
          inputs.height,
          SOURCE_CAPTION_BOX_OPACITY,
        ),
      ];
