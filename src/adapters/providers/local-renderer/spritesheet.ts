/**
 * The spritesheet: one JPEG holding a grid of frames sampled evenly across the finished video, for
 * scrubbing previews.
 */
import { even, num, requireAbsolute } from "./filtergraph.js";
import { inputArgs, type VideoInput } from "./media-input.js";

/** Width of one tile; the height follows the video's aspect ratio. */
export const TILE_WIDTH = 160;
/** The grid is at most this many tiles on a side. */
const MAX_GRID_SIDE = 5;
/** At most one tile per this many seconds: a 4 s clip gets 2×2, not 25 near-identical tiles. */
const MIN_SECONDS_PER_TILE = 0.5;

export interface SpritesheetLayout {
  readonly columns: number;
  readonly rows: number;
  readonly tileWidth: number;
  readonly tileHeight: number;
}

/**
 * A square grid, bigger for longer videos (4 s → 2×2, 8–12 s → 4×4, 15 s and more → 5×5). Every
 * video of at least 1 s holds more frames than tiles, so the grid always fills.
 */
export function spritesheetLayout(width: number, height: number, durationS: number): SpritesheetLayout {
  // The small slack keeps a probed 7.999 s in the same grid as 8 s.
  const fit = Math.floor(Math.sqrt(durationS / MIN_SECONDS_PER_TILE + 0.05));
  const side = Math.max(1, Math.min(MAX_GRID_SIDE, fit));
  const tileHeight = Math.max(2, even(Math.round((TILE_WIDTH * height) / width)));
  return { columns: side, rows: side, tileWidth: TILE_WIDTH, tileHeight };
}

/**
 * argv that writes the spritesheet of `video` (a video this renderer made or an upstream's, `durationS` long) as
 * exactly one JPEG. Sampling needs one frame every duration/tiles seconds, so the decoder skips the
 * frames nothing refers to and the deblocking filter (invisible at 160 px), on one thread: 0.26–0.32 s
 * for a 15 s 1080×1920 clip instead of 0.5–0.75 s decoding everything, and it leaves the second core to
 * the thumbnail and the probe running beside it. Keyframe-only decoding would be cheaper still, but
 * x264 puts a keyframe only every 250 frames: two in a 15 s clip.
 */
export function buildSpritesheetArgs(
  video: VideoInput,
  outPath: string,
  layout: SpritesheetLayout,
  durationS: number,
): string[] {
  requireAbsolute([video.path, outPath]);
  const tiles = layout.columns * layout.rows;
  const graph = [
    // The first tile is the frame at 0 s, the last one (tiles-1)/tiles of the way through.
    `fps=${tiles}/${num(Math.max(durationS, 0.001))}`,
    `scale=${layout.tileWidth}:${layout.tileHeight}`,
    "setsar=1",
    `tile=${layout.columns}x${layout.rows}`,
  ].join(",");
  return [
    ...["-nostdin", "-hide_banner", "-v", "error", "-y", "-threads", "1"],
    ...inputArgs(video, ["-skip_frame", "noref", "-skip_loop_filter", "all"]),
    ...["-vf", graph, "-frames:v", "1", "-q:v", "4", outPath],
  ];
}
