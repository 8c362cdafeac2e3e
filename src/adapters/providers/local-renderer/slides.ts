/**
 * Still images as moving pictures: each image pans slowly across the frame, and consecutive images
 * crossfade. This ffmpeg has no `xfade`, so a crossfade is the next image's first frames, faded in on
 * their alpha channel, laid over the last frames of the one before (`overlay`).
 */
import { esc, even, num } from "./graph-util.js";
import { orientationFilter } from "./media-input.js";

/** Images are scaled to cover this much of the frame, leaving slack for the pan. */
const PAN_OVERSCAN = 1.15;
/** Length of a crossfade between two images, when every image is shown long enough for it. */
const CROSSFADE_S = 0.6;

export interface SlidePlan {
  /** Per image: the first output frame it shows in, and how many frames it shows (its crossfades included). */
  readonly segments: readonly { readonly startFrame: number; readonly frames: number }[];
  /** Frames one crossfade lasts: even, centred on the boundary between two images' shares; 0 for hard cuts. */
  readonly fadeFrames: number;
}

/**
 * How `n` images share `totalFrames`: each owns an equal share (segmentFrames) and the crossfade between
 * two images is centred on the boundary of their shares, so the joins fall at i·D/n and the output is
 * exactly `totalFrames` long. The crossfade is shortened for short shares, and dropped when a share is
 * too short to hold one.
 */
export function slidePlan(totalFrames: number, n: number, fps: number): SlidePlan {
  const shares = segmentFrames(totalFrames, n);
  // A share must keep at least one frame that is not part of a crossfade.
  const fitting = Math.floor((Math.min(...shares) - 1) / 2);
  const half = n < 2 ? 0 : Math.max(0, Math.min(Math.round((CROSSFADE_S * fps) / 2), fitting));
  let shareStart = 0;
  const segments = shares.map((share, i) => {
    const start = i === 0 ? 0 : shareStart - half;
    const end = i === n - 1 ? totalFrames : shareStart + share + half;
    shareStart += share;
    return { startFrame: start, frames: end - start };
  });
  return { segments, fadeFrames: 2 * half };
}

/**
 * The graph (its last chain's output unlabeled) that shows inputs `0:v`…`n-1:v` one after another as
 * panning stills, crossfading per slidePlan. Each still is decoded, scaled and converted once, then
 * repeated by `loop`: about 2.5× faster than `-loop 1` inputs. Each image's clip is split into its
 * fade-in head, body and fade-out tail; only the heads are converted to an alpha format and only the
 * joins are blended, so the crossfades cost little more than the hard cuts would.
 */
export function imageSlides(
  n: number,
  o: {
    w: number;
    h: number;
    fps: number;
    totalFrames: number;
    seed: number;
    /** EXIF orientation of each image (1 = as stored); absent means all upright. */
    orientations?: readonly number[];
  },
): string {
  const plan = slidePlan(o.totalFrames, n, o.fps);
  const x = plan.fadeFrames;
  const chains: string[] = [];
  const parts: string[] = [];
  for (const [i, { frames }] of plan.segments.entries()) {
    const orientation = o.orientations?.[i] ?? 1;
    const still = panningStill(`${i}:v`, { ...o, frames, direction: (o.seed + i) % 4, orientation });
    if (n === 1) return still;
    const head = i > 0 && x > 0;
    const tail = i < n - 1 && x > 0;
    const outputs = [...(head ? [`[h${i}]`] : []), `[b${i}]`, ...(tail ? [`[t${i}]`] : [])];
    chains.push(
      outputs.length > 1 ? `${still},split=${outputs.length}${outputs.join("")}` : `${still}[b${i}]`,
    );
    if (head) {
      chains.push(
        `[h${i}]trim=end_frame=${x},setpts=PTS-STARTPTS,format=yuva420p,fade=t=in:s=0:n=${x}:alpha=1[hf${i}]`,
      );
      // The join: the previous image's tail under this one's head, fading in.
      chains.push(`[tt${i - 1}][hf${i}]overlay=eof_action=pass:format=yuv420,format=yuv420p[j${i}]`);
      parts.push(`[j${i}]`);
    }
    const bodyEnd = tail ? frames - x : frames;
    chains.push(`[b${i}]trim=start_frame=${head ? x : 0}:end_frame=${bodyEnd},setpts=PTS-STARTPTS[bb${i}]`);
    parts.push(`[bb${i}]`);
    if (tail) chains.push(`[t${i}]trim=start_frame=${frames - x},setpts=PTS-STARTPTS[tt${i}]`);
  }
  return `${chains.join(";")};${parts.join("")}concat=n=${parts.length}:v=1:a=0`;
}

/**
 * The first frame of `[input]` as a w×h clip of `frames` frames panning across it (`direction` 0–3,
 * see panExpressions), `overscan` times larger than the frame, followed by `extra` filters.
 */
export function panningStill(
  input: string,
  o: {
    w: number;
    h: number;
    fps: number;
    frames: number;
    direction: number;
    overscan?: number;
    /** EXIF orientation of the still (1 = as stored). */
    orientation?: number;
  },
  extra: readonly string[] = [],
): string {
  const overscan = o.overscan ?? PAN_OVERSCAN;
  const [sw, sh] = [even(o.w * overscan), even(o.h * overscan)];
  const [x, y] = panExpressions(o.direction, o.frames / o.fps);
  return [
    // A multi-frame input (GIF, or a video behind an image/* type) must not add frames.
    `[${input}]trim=end_frame=1`,
    ...orientationFilter(o.orientation ?? 1),
    `scale=${sw}:${sh}:force_original_aspect_ratio=increase`,
    "setsar=1",
    `crop=${sw}:${sh}`,
    "format=yuv420p",
    // `loop` passes its input frame on as soon as the image is decoded, wanted or not; in a crossfade
    // graph that early frame reaches an overlay, which then pulls the joins' frames long before the
    // encoder needs them and holds them (+150 MB at 720p with three images). Dropping it keeps every
    // frame made on demand, in order.
    `loop=loop=${o.frames}:size=1`,
    "trim=start_frame=1",
    `setpts=N/${o.fps}/TB`,
    `crop=${o.w}:${o.h}:x=${esc(x)}:y=${esc(y)}`,
    ...extra,
  ].join(",");
}

/** Pan directions: left→right, right→left, top→bottom, bottom→top over the segment. */
function panExpressions(direction: number, segS: number): [string, string] {
  const forward = `t/${num(segS)}`;
  const backward = `(1-t/${num(segS)})`;
  switch (direction) {
    case 0:
      return [`(iw-ow)*${forward}`, "(ih-oh)/2"];
    case 1:
      return [`(iw-ow)*${backward}`, "(ih-oh)/2"];
    case 2:
      return ["(iw-ow)/2", `(ih-oh)*${forward}`];
    default:
      return ["(iw-ow)/2", `(ih-oh)*${backward}`];
  }
}

/** Splits `total` frames over `n` segments, the first ones one frame longer when it does not divide. */
export function segmentFrames(total: number, n: number): number[] {
  const base = Math.floor(total / n);
  return Array.from({ length: n }, (_, i) => base + (i < total - base * n ? 1 : 0));
}
