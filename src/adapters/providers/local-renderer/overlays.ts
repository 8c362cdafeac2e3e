/**
 * What is drawn over every mode's picture, in the same ffmpeg command: character insets
 * (picture-in-picture cameos, top-left) and the visible "Reelay" mark (bottom-right). Both places are
 * computed from the frame size alone, so a watermark remover and the tests can find them.
 */
import type { Region } from "../../../core/media/ports.js";
import { esc, even, num } from "./graph-util.js";
import { inputArgs, type VideoInput } from "./media-input.js";

/** One character's clip: `endS - startS` seconds of the video at `path`, shown looped in an inset. */
export interface CharacterClip {
  /** The video the character comes from (absolute path, sniffed type). */
  readonly video: VideoInput;
  readonly startS: number;
  readonly endS: number;
}

/** What to draw over the picture; nothing when absent. */
export interface Overlays {
  /** Draw the visible "Reelay" mark inside markRegion. */
  readonly mark?: boolean;
  /** Shown side by side in the top-left corner; only the first MAX_CHARACTER_INSETS are drawn. */
  readonly characters?: readonly CharacterClip[];
}

/** Insets are drawn side by side in one row: more would cover too much of a portrait frame. */
export const MAX_CHARACTER_INSETS = 3;
/** Share of the frame width one inset's picture takes. */
const INSET_WIDTH_SHARE = 0.28;
const MARK_TEXT = "Reelay";

/** The mark's font size and where its text is drawn: all integers, from the frame size alone. */
function markLayout(width: number, height: number) {
  const short = Math.min(width, height);
  const fontSize = Math.max(10, Math.round(short / 24));
  const border = Math.max(1, Math.round(fontSize / 12));
  // Measured with DejaVu Sans Bold at 12–96 px: "Reelay" with its border and shadow covers at most
  // 3.92 em × 1.09 em from the text origin (border reaching `border` px above it). The padding is the
  // slack a remover needs: delogo interpolates from the pixels just outside the box, which must be free
  // of the mark and of the encoder's ringing around its edges.
  const pad = Math.max(2, Math.round(fontSize * 0.2));
  const boxW = even(Math.ceil(4 * fontSize + 3 * border) + 2 * pad);
  const boxH = even(Math.ceil(1.1 * fontSize + 3 * border) + 2 * pad);
  const margin = Math.max(2, even(short / 48));
  // Strictly inside the frame, at least 1 px from every edge, even on a tiny frame.
  const w = Math.min(boxW, width - 2);
  const h = Math.min(boxH, height - 2);
  const x = Math.max(1, width - margin - w);
  const y = Math.max(1, height - margin - h);
  return {
    fontSize,
    border,
    region: { x, y, width: w, height: h },
    textX: x + pad + border,
    textY: y + pad + border,
  };
}

/**
 * Where the visible mark is in a width×height frame: a rectangle in the bottom-right corner that covers
 * the drawn text, its border and shadow with some slack, at least 1 px inside every edge (as `delogo`
 * needs). Below the caption, which ends an eighth of the height above the bottom edge.
 */
export function markRegion(width: number, height: number): Region {
  return markLayout(width, height).region;
}

/** drawtext that writes the mark (white, 85 % opaque, dark border and shadow) inside markRegion. */
export function markFilter(fontPath: string, width: number, height: number): string {
  const m = markLayout(width, height);
  return `drawtext=${[
    `fontfile=${esc(fontPath)}`,
    `text=${MARK_TEXT}`,
    `fontsize=${m.fontSize}`,
    "fontcolor=white@0.85",
    `borderw=${m.border}`,
    "bordercolor=black@0.6",
    `shadowx=${m.border}`,
    `shadowy=${m.border}`,
    "shadowcolor=black@0.5",
    `x=${m.textX}`,
    `y=${m.textY}`,
  ].join(":")}`;
}

/** Inset geometry: the picture's size, the white border around it and the gaps, from the frame size. */
function insetLayout(width: number, height: number) {
  const short = Math.min(width, height);
  const w = even(width * INSET_WIDTH_SHARE);
  // The frame's own shape: a cameo looks like a small copy of a video.
  const h = even((w * height) / width);
  return { w, h, border: Math.max(2, even(short / 240)), margin: even(short / 32), gap: even(short / 64) };
}

/**
 * Where character `index` (0-based, < MAX_CHARACTER_INSETS) is shown in a width×height frame: the inset's
 * picture, its thin white border just outside this rectangle. Insets sit side by side from the top-left
 * corner.
 */
export function characterInsetRegion(width: number, height: number, index: number): Region {
  const l = insetLayout(width, height);
  const step = l.w + 2 * l.border + l.gap;
  return { x: l.margin + l.border + index * step, y: l.margin + l.border, width: l.w, height: l.h };
}

/** The characters that are drawn: the first MAX_CHARACTER_INSETS. */
const drawn = (o: Overlays | undefined): readonly CharacterClip[] =>
  (o?.characters ?? []).slice(0, MAX_CHARACTER_INSETS);

/**
 * Input options for the drawn characters' clips, to follow the mode's own inputs: input-side `-ss`/`-t`
 * decode only the span (accurately, from the keyframe before it).
 */
export function overlayInputArgs(o: Overlays | undefined): string[] {
  return drawn(o).flatMap((c) =>
    inputArgs(c.video, ["-ss", num(c.startS), "-t", num(Math.max(0.04, c.endS - c.startS))]),
  );
}

/** Paths the overlays read (for the absolute-path check). */
export const overlayPaths = (o: Overlays | undefined): string[] => drawn(o).map((c) => c.video.path);

/**
 * Ends `graph` (whose last chain's output is unlabeled, w×h at `fps` from t=0) with the overlays, as
 * yuv420p on `[v]`. `firstInput` is the index of the first character input (after the mode's own).
 * Without overlays this is exactly the mode's own graph ending in `format=yuv420p[v]`.
 */
export function finishVideo(
  graph: string,
  o: {
    w: number;
    h: number;
    fps: number;
    fontPath: string;
    firstInput: number;
    overlays?: Overlays | undefined;
  },
): string {
  const mark = o.overlays?.mark === true ? `,${markFilter(o.fontPath, o.w, o.h)}` : "";
  const characters = drawn(o.overlays);
  if (characters.length === 0) return `${graph}${mark},format=yuv420p[v]`;
  const l = insetLayout(o.w, o.h);
  const chains = [`${graph}[pip0]`];
  for (const [i, c] of characters.entries()) {
    const r = characterInsetRegion(o.w, o.h, i);
    // The span's frames, scaled to cover the inset (centre crop), held once (small, at the inset's size,
    // border included) and repeated for the whole video. A span past the clip's end holds what there is.
    const frames = Math.max(1, Math.round((c.endS - c.startS) * o.fps));
    chains.push(
      [
        `[${o.firstInput + i}:v]setpts=PTS-STARTPTS`,
        `fps=${o.fps}`,
        `scale=${l.w}:${l.h}:force_original_aspect_ratio=increase`,
        `crop=${l.w}:${l.h}`,
        "setsar=1",
        "format=yuv420p",
        `pad=${l.w + 2 * l.border}:${l.h + 2 * l.border}:${l.border}:${l.border}:color=white`,
        `trim=end_frame=${frames}`,
        `loop=loop=-1:size=${frames}`,
        `setpts=N/${o.fps}/TB[cam${i}]`,
      ].join(","),
      `[pip${i}][cam${i}]overlay=x=${r.x - l.border}:y=${r.y - l.border}[pip${i + 1}]`,
    );
  }
  chains.push(`[pip${characters.length}]null${mark},format=yuv420p[v]`);
  return chains.join(";");
}
