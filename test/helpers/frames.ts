/** Reading a delivered video's pixels back with the same ffmpeg the server uses. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import type { Region } from "../../src/core/media/ports.js";

const run = promisify(execFile);

/** RGB pixels of region `r` in the frame at `atS` of `video`. */
export async function pixels(video: string, atS: number, r: Region): Promise<Buffer> {
  const { ffmpegPath } = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const { stdout } = await run(
    ffmpegPath,
    [
      ...["-v", "error", "-ss", String(atS), "-i", video, "-frames:v", "1"],
      ...[
        "-vf",
        `crop=${r.width}:${r.height}:${r.x}:${r.y}`,
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
      ],
    ],
    { encoding: "buffer", maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** Mean absolute difference of two pixel buffers, 0–255. */
export const meanAbsDiff = (a: Buffer, b: Buffer): number =>
  a.reduce((s, v, i) => s + Math.abs(v - (b[i] ?? 0)), 0) / a.length;

/** Mean [R, G, B] of rgb24 pixels. */
export const meanRgb = (p: Buffer): number[] => {
  const sum = [0, 0, 0];
  for (let i = 0; i < p.length; i++) sum[i % 3] = (sum[i % 3] ?? 0) + (p[i] ?? 0);
  return sum.map((s) => s / (p.length / 3));
};
