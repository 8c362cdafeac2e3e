/**
 * The local watermark remover: ffmpeg's `delogo` over the region the provider reported, the audio
 * copied as is. It needs to know where the mark is; without a region it cannot help.
 */
import { join } from "node:path";
import { errors } from "../../core/errors.js";
import type { WatermarkRemover } from "../../core/media/ports.js";
import { describeExit, exitDetail, runFfmpeg } from "../providers/local-renderer/ffmpeg-run.js";
import { inputArgs, videoInput } from "../providers/local-renderer/media-input.js";

export function createDelogoRemover(opts: { ffmpegPath: string }): WatermarkRemover {
  return {
    name: "delogo",
    async remove({ videoPath, region, workDir, signal }) {
      if (!region) throw errors.watermarkRemover("the provider did not say where the watermark is", false);
      const out = join(workDir, "clean.mp4");
      const video = await videoInput(videoPath);
      if (video === null) throw errors.watermarkRemover("the video to clean is not an MP4 or WebM", false);
      // delogo needs the box strictly inside the frame.
      const r = {
        x: Math.max(1, Math.round(region.x)),
        y: Math.max(1, Math.round(region.y)),
        w: Math.max(4, Math.round(region.width)),
        h: Math.max(4, Math.round(region.height)),
      };
      const exit = await runFfmpeg(
        opts.ffmpegPath,
        [
          "-hide_banner",
          "-nostdin",
          "-y",
          ...inputArgs(video),
          "-vf",
          `delogo=x=${r.x}:y=${r.y}:w=${r.w}:h=${r.h}`,
          "-c:v",
          "libx264",
          "-preset",
          "veryfast",
          "-crf",
          "23",
          "-pix_fmt",
          "yuv420p",
          "-c:a",
          "copy",
          "-movflags",
          "+faststart",
          out,
        ],
        signal,
      );
      if (exit.code !== 0)
        throw errors.watermarkRemover(`delogo failed: ${describeExit(exit)}`, true, exitDetail(exit));
      return out;
    },
  };
}
