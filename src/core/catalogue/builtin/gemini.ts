/**
 * Veo 3.1 on the Gemini API (channel kind `gemini`).
 *
 * From https://ai.google.dev/gemini-api/docs/video (model versions and parameter table): 16:9 and
 * 9:16; 720p and 1080p (the newer 4k is not offered here); 4, 6 or 8 seconds, but 1080p only at
 * 8 s and reference images only at 8 s (the catalogue cannot say "1080p only at 8 s": such a
 * request reaches the API and is refused as INVALID_ARGUMENT, a non-retryable failure naming the
 * rule); a first frame (`image`), a last frame (`lastFrame`, with a first frame), up to 3 asset
 * reference images; sound always (the Gemini API refuses `generateAudio`); a negative prompt; no
 * seed (the API refuses `seed`, Vertex AI only).
 *
 * List price (https://ai.google.dev/gemini-api/docs/pricing, paid tier, with audio, as last
 * published there to our knowledge — not re-checked against a stored copy of the page):
 * veo-3.1-generate-preview $0.40 per second (720p and 1080p);
 * veo-3.1-fast-generate-preview $0.15 per second (720p and 1080p).
 */
import type { ModelAccepts, ModelCapability } from "../capability.js";

const VEO_3_1_ACCEPTS: ModelAccepts = {
  aspectRatios: ["16:9", "9:16"],
  resolutions: ["720p", "1080p"],
  firstFrame: true,
  lastFrame: true,
  referenceImages: 3,
  referenceVideo: false,
  audio: "always",
  seed: false,
  negativePrompt: true,
};

const VEO_3_1 = {
  family: "veo-3.1",
  sizes: ["small", "large"],
  durations: [4, 6, 8],
  // First + last frame, or up to 3 references (the two modes do not mix).
  maxImages: 3,
  videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
  videoSeconds: [4, 6, 8],
  accepts: VEO_3_1_ACCEPTS,
} as const;

export const GEMINI_MODELS: readonly ModelCapability[] = [
  // Prices in credits (US$0.01) per second, from the list prices above (sound is always made).
  {
    name: "veo-3.1",
    ...VEO_3_1,
    upstream: { gemini: "veo-3.1-generate-preview", vertex: "veo-3.1-generate-preview" },
    price: { perSecond: { "*": 40 } },
  },
  {
    name: "veo-3.1-fast",
    ...VEO_3_1,
    upstream: { gemini: "veo-3.1-fast-generate-preview", vertex: "veo-3.1-fast-generate-preview" },
    price: { perSecond: { "*": 15 } },
  },
];
