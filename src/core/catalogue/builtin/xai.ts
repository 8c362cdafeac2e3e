/**
 * Grok Imagine video (xAI) served by `xai` channels (the xAI API, https://api.x.ai).
 *
 * From the provider's documents (https://docs.x.ai/developers/model-capabilities/video and
 * …/video/reference-to-video): `grok-imagine-video` does text-to-video, image-to-video from a first
 * frame (`image`), and reference-to-video (`reference_images`, at most 7, at most 10 s, not together
 * with a first frame); `duration` 1–15 whole seconds; `resolution` 480p (default) or 720p;
 * `aspect_ratio` 1:1, 16:9 (default), 9:16, 4:3, 3:4, 3:2, 2:3. Its videos come with generated sound
 * (no switch in the API). No last frame, seed, negative prompt or watermark switch. It makes no
 * 1080p: its seed size is `small` (720p), 1280×720 at 16:9; 480p is 854×480.
 *
 * List price (xAI models page https://docs.x.ai/developers/models, "per-second pricing, by
 * duration and resolution"; the figures as mirrored by krea.ai's Grok Imagine API page and
 * apidog's guide): US$0.05 per second at 480p, US$0.07 per second at 720p, sound included.
 */
import type { ModelCapability } from "../capability.js";

export const XAI_MODELS: readonly ModelCapability[] = [
  {
    name: "grok-imagine-video",
    family: "grok-imagine",
    sizes: ["small"],
    durations: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    // One first frame, or up to 7 reference images (never both in one request).
    maxImages: 7,
    videoSizes: ["854x480", "480x854", "1280x720", "720x1280"],
    videoSeconds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3"],
      resolutions: ["480p", "720p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 7,
      referenceVideo: false,
      audio: "always",
      seed: false,
      negativePrompt: false,
    },
    upstream: { xai: "grok-imagine-video" },
    // Credits (US$0.01) per second, from the list price above (sound is always made, at no extra).
    price: { perSecond: { "480p": 5, "720p": 7 } },
  },
];
