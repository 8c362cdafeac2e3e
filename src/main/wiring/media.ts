/**
 * The media side: ffmpeg and ffprobe, the video provider that renders locally, the inspector of
 * uploads and the watermark remover. The renderer is loaded only when used.
 */
import { imageInput, videoInput } from "../../adapters/providers/local-renderer/media-input.js";
import {
  type MediaTools,
  probe,
  resolveMediaTools,
} from "../../adapters/providers/local-renderer/media-tools.js";
import { createDelogoRemover } from "../../adapters/watermark/delogo.js";
import type { MediaInspector, VideoProvider, WatermarkRemover } from "../../core/media/ports.js";
import type { Config } from "../config.js";
import type { Wiring } from "./context.js";

export interface Media {
  readonly tools: MediaTools;
  /** Renders every task that no upstream channel takes. */
  readonly provider: VideoProvider;
  readonly inspector: MediaInspector;
  readonly remover: WatermarkRemover;
}

/** The built-in ffmpeg renderer; loaded only when used (a process with another provider skips it). */
async function localRenderer(config: Config, tools: MediaTools): Promise<VideoProvider> {
  const [{ createImageFetcher }, { createLocalRenderer }] = await Promise.all([
    import("../../adapters/net/safe-fetch.js"),
    import("../../adapters/providers/local-renderer/index.js"),
  ]);
  return createLocalRenderer({
    tools,
    fetcher: createImageFetcher(config.images),
    mark: config.localWatermark,
  });
}

/** Reads uploaded videos and images with ffprobe (from npm, or FFPROBE_PATH), as their sniffed type only. */
function ffprobeInspector(tools: MediaTools): MediaInspector {
  return {
    async inspectVideo(path) {
      const video = await videoInput(path);
      if (video === null) return undefined;
      const info = await probe(tools.ffprobePath, video).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!info || !v?.width || !v.height || !(info.durationS > 0)) return undefined;
      return { width: v.width, height: v.height, durationS: info.durationS };
    },
    async inspectImage(path) {
      const image = await imageInput(path);
      if (image === null) return undefined;
      const info = await probe(tools.ffprobePath, image).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!v?.width || !v.height) return undefined;
      return { type: image.type, width: v.width, height: v.height };
    },
  };
}

export async function buildMedia({ config, overrides }: Wiring): Promise<Media> {
  // ffmpeg and ffprobe serve uploads (probe) and watermark removal whatever the provider.
  const tools = await resolveMediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
  return {
    tools,
    provider: overrides.provider ?? (await localRenderer(config, tools)),
    inspector: ffprobeInspector(tools),
    remover: overrides.remover ?? createDelogoRemover({ ffmpegPath: tools.ffmpegPath }),
  };
}
