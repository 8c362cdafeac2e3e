/**
 * Makes a downloaded upstream video a stored result: ffprobe must read it as a video (an error
 * page that slipped past the content checks stops here), then it gets a thumbnail (the
 * upstream's when it is a JPEG) and a spritesheet like local renders, and goes into the blob store.
 */
import { join } from "node:path";
import { errors } from "../../../core/errors.js";
import { newAttemptDir } from "../../../core/media/blob_keys.js";
import type { BlobStore } from "../../../core/media/ports.js";
import type { ResultFinisher } from "../../../core/upstream/poller.js";
import { describeExit, runFfmpeg } from "../local-renderer/ffmpeg-run.js";
import { buildThumbnailArgs } from "../local-renderer/filtergraph.js";
import { sniffFile, type VideoInput, videoInput } from "../local-renderer/media-input.js";
import { type MediaTools, probe } from "../local-renderer/media-tools.js";
import { buildSpritesheetArgs, spritesheetLayout } from "../local-renderer/spritesheet.js";

export function createResultFinisher(deps: {
  tools: Pick<MediaTools, "ffmpegPath" | "ffprobePath">;
  blobs: BlobStore;
  blobKey: (taskId: string, attempt: string, file: string) => string;
}): ResultFinisher {
  const { tools, blobs } = deps;
  return {
    async finish({ task, videoPath, thumbnailPath, watermarked, channelId: channel, workDir, signal }) {
      // An upstream's bytes are as untrusted as a user's: an MP4 by its magic bytes, read as MP4 only.
      const sniffed = await videoInput(videoPath);
      if (sniffed?.type !== "mp4")
        throw errors.upstreamBadContent(channel, "the downloaded file is not an MP4 video", false);
      const video: VideoInput = sniffed;
      const info = await probe(tools.ffprobePath, video).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!info || !v?.width || !v.height || !(info.durationS > 0))
        throw errors.upstreamBadContent(channel, "the downloaded file is not a readable video", false);
      const thumb =
        thumbnailPath && (await sniffFile(thumbnailPath)) === "jpeg"
          ? thumbnailPath
          : join(workDir, "thumb.jpg");
      const sheet = join(workDir, "spritesheet.jpg");
      const [t, s] = await Promise.all([
        thumb === thumbnailPath
          ? Promise.resolve({ code: 0, killedBy: null, stderrTail: [] })
          : runFfmpeg(
              tools.ffmpegPath,
              buildThumbnailArgs(video, thumb, Math.min(1, info.durationS / 2)),
              signal,
            ),
        runFfmpeg(
          tools.ffmpegPath,
          buildSpritesheetArgs(
            video,
            sheet,
            spritesheetLayout(v.width, v.height, info.durationS),
            info.durationS,
          ),
          signal,
        ),
      ]);
      if (t.code !== 0)
        throw errors.upstreamBadContent(channel, `no thumbnail could be taken: ${describeExit(t)}`, false);
      // Under names of this download's own: a poller that lost the task to another one
      // never overwrites (or later deletes) the files the task points to.
      const attempt = newAttemptDir(Date.now());
      const videoKey = deps.blobKey(task.id, attempt, "video.mp4");
      const thumbnailKey = deps.blobKey(task.id, attempt, "thumbnail.jpg");
      const spritesheetKey = s.code === 0 ? deps.blobKey(task.id, attempt, "spritesheet.jpg") : null;
      const stored = await blobs.put(videoKey, videoPath, "video/mp4");
      await blobs.put(thumbnailKey, thumb, "image/jpeg");
      if (spritesheetKey) await blobs.put(spritesheetKey, sheet, "image/jpeg");
      return {
        videoKey,
        thumbnailKey,
        spritesheetKey,
        width: v.width,
        height: v.height,
        durationS: info.durationS,
        bytes: stored.size,
        // As the upstream says (`has_watermark`); an upstream that does not say is taken at its word
        // that it honoured the request's `watermark` choice.
        watermarked: watermarked ?? false,
      };
    },
  };
}
