/**
 * Seedance models (ByteDance) served by `seedance` channels (Volcengine Ark / BytePlus ModelArk).
 *
 * From the provider's Video Generation API reference (https://docs.byteplus.com/en/docs/ModelArk/1520757
 * and Volcengine Ark's edition): Seedance 1.0 pro does text-to-video, first-frame and
 * first+last-frame image-to-video (reference images are Seedance 2.0's, and 1.0 lite i2v's);
 * `duration` any whole second in [2, 12]; `resolution` 480p, 720p, 1080p (default 1080p); `ratio`
 * 16:9, 4:3, 1:1, 3:4, 9:16, 21:9, plus `adaptive` for image-to-video only; `seed` in [-1, 2^32-1];
 * no sound (`generate_audio` is Seedance 1.5 pro and 2.0 only); no negative prompt field.
 * The upstream id is BytePlus ModelArk's; Volcengine Ark names the same model
 * `doubao-seedance-1-0-pro-250528` (a channel there renames it, or uses its `ep-…` endpoint id).
 * The 1.0 series makes 1920×1088 at 1080p 16:9 and 1248×704 at 720p 16:9 (the documented pixel table).
 *
 * List price (billed per output token; tokens = width × height × 24 fps × seconds / 1024, as
 * `usage.completion_tokens` reports them): BytePlus ModelArk US$2.5 per million tokens for
 * seedance-1-0-pro (ModelArk pricing, https://docs.byteplus.com/api/docs/ModelArk/1544106; the same
 * figure in docs.dev.xavier.icvr.xyz/models/byteplus/seedance-1-5-pro-251215.html), which is per
 * second, 16:9: 480p ≈ US$0.0243, 720p ≈ US$0.0515, 1080p ≈ US$0.1224; no audio, so no audio
 * price. Volcengine Ark: ≈ ¥15 per million tokens (a public billing note: a 5 s 720p video billed
 * ≈ 108,900 tokens for ≈ ¥1.63; not from the price page itself).
 */
import type { ModelCapability } from "../capability.js";

export const SEEDANCE_MODELS: readonly ModelCapability[] = [
  {
    name: "seedance-1.0-pro",
    family: "seedance-1.0",
    sizes: ["small", "large"],
    durations: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    // A first and a last frame.
    maxImages: 2,
    // The usual 16:9 / 9:16 sizes, and the 1080p sizes it really makes (a 720p ask makes 1248×704).
    videoSizes: [
      "864x480",
      "480x864",
      "1280x720",
      "720x1280",
      "1920x1080",
      "1080x1920",
      "1920x1088",
      "1088x1920",
    ],
    videoSeconds: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    accepts: {
      aspectRatios: ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"],
      resolutions: ["480p", "720p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: true,
      negativePrompt: false,
    },
    upstream: { seedance: "seedance-1-0-pro-250528" },
    // Credits (US$0.01) per second, from the list price above.
    price: { perSecond: { "480p": 2.43, "720p": 5.15, "1080p": 12.24 }, usdPerMillionTokens: 2.5 },
  },
];
