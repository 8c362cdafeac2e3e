/**
 * Pure builders of the local renderer's ffmpeg command lines. Only filters present in both the 2018
 * npm ffmpeg (4.1) and Debian's 5.1 are used: no xfade, no gradients (see docs in shared notes).
 */
import { captionFontSize } from "./caption.js";
import { esc, even, num, requireAbsolute } from "./graph-util.js";
import { type ImageInput, inputArgs, type MediaInput, type VideoInput } from "./media-input.js";
import { finishVideo, type Overlays, overlayInputArgs, overlayPaths } from "./overlays.js";
import { imageSlides } from "./slides.js";

export { esc, even, num, requireAbsolute } from "./graph-util.js";
export { panningStill, segmentFrames } from "./slides.js";

export const DEFAULT_FPS = 30;
/** Images larger than this are refused by the decoder: a small PNG can inflate to gigabytes. */
export const DEFAULT_MAX_IMAGE_PIXELS = 50_000_000;
/** Notes of the background tone, picked by the prompt's hash. */
const TONES_HZ = [196, 220, 246.94, 261.63, 293.66, 329.63];

export interface RenderInputs {
  readonly width: number;
  readonly height: number;
  /** Seconds; the output is cut to exactly this. */
  readonly durationS: number;
  /** Chooses the background colour, pan directions and tone, so one prompt always looks the same. */
  readonly prompt: string;
  /** The downloaded and uploaded images (absolute paths, sniffed types), in order; empty for a colour background. */
  readonly images: readonly ImageInput[];
  /** Absolute path of the wrapped caption text (caption.ts), or null to draw no caption. */
  readonly captionPath: string | null;
  readonly fontPath: string;
  readonly outputPath: string;
  readonly fps?: number;
  readonly maxImagePixels?: number;
  /** The mark and character insets drawn over the picture (overlays.ts); none when absent. */
  readonly overlays?: Overlays;
}

/**
 * The complete ffmpeg argv (without the binary) that renders `inputs` into an MP4: H.264 + AAC,
 * exactly width×height, fps and duration, with `-progress pipe:1` key=value lines on stdout.
 * Consecutive images crossfade (slides.ts).
 */
export function buildRenderArgs(inputs: RenderInputs): string[] {
  const { width: w, height: h, durationS: d } = inputs;
  const fps = inputs.fps ?? DEFAULT_FPS;
  requireAbsolute([
    ...inputs.images.map((i) => i.path),
    ...overlayPaths(inputs.overlays),
    inputs.fontPath,
    inputs.outputPath,
    inputs.captionPath ?? "/",
  ]);
  const seed = promptSeed(inputs.prompt);
  const maxPixels = String(inputs.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS);
  const imageArgs = inputs.images.flatMap((i) => imageInputArgs(i, maxPixels));
  const background =
    inputs.images.length > 0
      ? imageSlides(inputs.images.length, {
          w,
          h,
          fps,
          totalFrames: Math.round(d * fps),
          seed,
          orientations: inputs.images.map((i) => i.orientation),
        })
      : colourBackground({ w, h, fps, d, seed, fontPath: inputs.fontPath });
  const caption =
    inputs.captionPath === null ? "" : `,${captionFilter(inputs.captionPath, inputs.fontPath, w, h)}`;
  const video = finishVideo(`${background}${caption}`, {
    w,
    h,
    fps,
    fontPath: inputs.fontPath,
    firstInput: inputs.images.length,
    overlays: inputs.overlays,
  });
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y"],
    ...imageArgs,
    ...overlayInputArgs(inputs.overlays),
    ...["-filter_complex", `${video};${toneGraph(seed, d, "a")}`, "-map", "[v]", "-map", "[a]"],
    ...encodeArgs(fps, d, inputs.outputPath),
  ];
}

/** H.264 + AAC encoding of the mapped streams, cut to exactly `durationS`, progress on stdout. */
export function encodeArgs(fps: number, durationS: number, outputPath: string): string[] {
  return [
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p", "-r", String(fps)],
    ...["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"],
    ...["-t", num(durationS), "-movflags", "+faststart", "-progress", "pipe:1", "-nostats", outputPath],
  ];
}

/** The soundtrack: a quiet tone chosen by `seed` over pink noise, `durationS` long, as stereo `[label]`. */
export function toneGraph(seed: number, durationS: number, label: string): string {
  const d = num(durationS);
  return [
    `sine=frequency=${TONES_HZ[seed % TONES_HZ.length] ?? 220}:sample_rate=48000:duration=${d}[${label}tone]`,
    `anoisesrc=color=pink:amplitude=0.03:sample_rate=48000:duration=${d}[${label}noise]`,
    `[${label}tone][${label}noise]amix=inputs=2:duration=longest,${STEREO_48K}[${label}]`,
  ].join(";");
}

/** One audio format for every stream that meets another in `concat`. */
export const STEREO_48K = "aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo";

/**
 * An image's input options: its forced demuxer, the decoder's pixel cap, and no automatic rotation
 * (the EXIF orientation is applied in the graph, the same on every ffmpeg build).
 */
export const imageInputArgs = (image: MediaInput, maxPixels: string | number): string[] =>
  inputArgs(image, ["-max_pixels", String(maxPixels), "-noautorotate"]);

/** argv that grabs one JPEG frame at `atS` from a rendered or downloaded video, at the video's own size. */
export function buildThumbnailArgs(video: VideoInput, thumbPath: string, atS: number): string[] {
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y", ...inputArgs(video, ["-ss", num(atS)])],
    ...["-frames:v", "1", "-q:v", "3", thumbPath],
  ];
}

/** argv that only decodes the first frame of an image or video: tells a broken input from other failures. */
export function buildDecodeCheckArgs(input: MediaInput, maxImagePixels = DEFAULT_MAX_IMAGE_PIXELS): string[] {
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-xerror"],
    ...imageInputArgs(input, maxImagePixels),
    ...["-frames:v", "1", "-f", "null", "-"],
  ];
}

/**
 * A flat colour from the prompt's hash with a large translucent disc drifting across it. A drawtext
 * glyph is the cheapest moving shape in this ffmpeg: `hue` over the full frame costs 2.5× the render.
 */
function colourBackground(o: {
  w: number;
  h: number;
  fps: number;
  d: number;
  seed: number;
  fontPath: string;
}) {
  const size = even(Math.min(o.w, o.h) * 0.6);
  const speed = num(o.w / 6);
  const phase = o.seed % 997;
  const disc = [
    `fontfile=${esc(o.fontPath)}`,
    "text=●",
    "fontcolor=white@0.12",
    `fontsize=${size}`,
    `x=${esc(`mod(${phase}+t*${speed},w+tw)-tw`)}`,
    `y=${esc(`h/4+h/10*sin(t*0.7+${phase})-th/2`)}`,
  ].join(":");
  return `color=c=${backgroundColour(o.seed)}:s=${o.w}x${o.h}:r=${o.fps}:d=${num(o.d)},format=yuv420p,drawtext=${disc}`;
}

/** The caption drawn over the lower part of the frame, on a box `boxOpacity` opaque. */
export function captionFilter(
  captionPath: string,
  fontPath: string,
  w: number,
  h: number,
  boxOpacity = 0.45,
): string {
  const size = captionFontSize(w, h);
  return `drawtext=${[
    `fontfile=${esc(fontPath)}`,
    `textfile=${esc(captionPath)}`,
    // The prompt is user text: no %{…} expansion.
    "expansion=none",
    "fontcolor=white",
    `fontsize=${size}`,
    `line_spacing=${Math.round(size * 0.25)}`,
    "box=1",
    `boxcolor=black@${boxOpacity}`,
    `boxborderw=${Math.round(size * 0.4)}`,
    "x=(w-text_w)/2",
    "y=h-text_h-h/8",
  ].join(":")}`;
}

/** A dark, saturated `0xRRGGBB` colour (white text stays readable on it) chosen by `seed`. */
export function backgroundColour(seed: number): string {
  const hue = seed % 360;
  const [s, l] = [0.55, 0.3];
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((hue / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    hue < 60
      ? [c, x, 0]
      : hue < 120
        ? [x, c, 0]
        : hue < 180
          ? [0, c, x]
          : hue < 240
            ? [0, x, c]
            : hue < 300
              ? [x, 0, c]
              : [c, 0, x];
  const hex = (v: number) =>
    Math.round((v + m) * 255)
      .toString(16)
      .padStart(2, "0");
  return `0x${hex(r)}${hex(g)}${hex(b)}`;
}

/** FNV-1a over the prompt's UTF-16 units: stable across runs and machines. */
export function promptSeed(prompt: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < prompt.length; i++) {
    hash ^= prompt.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
