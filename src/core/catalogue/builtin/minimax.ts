/**
 * MiniMax's Hailuo models (channel kind `minimax`).
 *
 * List price: MiniMax's own price page (platform.minimax.io/docs/guides/pricing) could not be read
 * from here. The catalogue price below is MiniMax's pay-as-you-go price for Hailuo-02 as commonly
 * quoted (768P 6 s US$0.28, 1080P 6 s US$0.49, 512P 6 s US$0.10, i.e. per second ≈ 4.67, 8.17 and
 * 1.67 US cents): an estimate to check against the operator's own MiniMax account and override with
 * `models[].price`. No model here makes sound.
 *
 * What Hailuo-02 makes (platform.minimax.io video-generation-t2v/-i2v/-fl2v; docs.comfy.org
 * MinimaxHailuoVideoNode): text-to-video at 768P (1366×768) or 1080P (1920×1080), 16:9 only;
 * 6 or 10 s, 1080P only at 6 s (refused by the adapter before sending); from a first frame also
 * 512P, the video taking the image's aspect ratio; first + last frame (not at 512P). Reelay's
 * `small` (720p class) is served by 768P, `large` by 1080P.
 */
import type { ModelCapability } from "../capability.js";

export const MINIMAX_MODELS: readonly ModelCapability[] = [
  {
    name: "hailuo-02",
    family: "hailuo-02",
    sizes: ["small", "large"],
    durations: [6, 10],
    maxImages: 2,
    videoSizes: ["1366x768", "1920x1080"],
    videoSeconds: [6, 10],
    accepts: {
      aspectRatios: ["16:9"],
      // From a first frame the video takes the image's aspect ratio.
      aspectFromFirstFrame: true,
      // 720p is the seed's `small`: MiniMax makes it at 768P (1366×768), as it does 768p.
      resolutions: ["512p", "720p", "768p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: false,
      negativePrompt: false,
    },
    upstream: { minimax: "MiniMax-Hailuo-02" },
    // Credits (US$0.01) per second, the estimate above (`small`, 720p class, is made at 768P).
    price: { perSecond: { "512p": 1.67, "720p": 4.67, "768p": 4.67, "1080p": 8.17 } },
  },
];
