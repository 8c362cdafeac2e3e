/**
 * Video models reached through OpenRouter (channel kind `openrouter`), under Reelay names of their
 * own (`openrouter-…`) so they do not collide with the same models on their makers' APIs.
 *
 * What each takes, from OpenRouter's video docs (openrouter.ai/docs/guides/overview/multimodal/video-generation,
 * the `GET /api/v1/videos/models` example and the create request's enums) and the makers' own limits:
 * - `google/veo-3.1`: 720p and 1080p, 16:9 and 9:16 (OpenRouter's example also lists 1:1; Veo
 *   3.1 itself makes 16:9 and 9:16 only), 4, 6 or 8 s; first and last frame (`frame_images`), up
 *   to 3 references (`input_references`, not mixed with frames); `generate_audio` chosen by the
 *   caller; `seed`. No negative prompt (OpenRouter has only a provider passthrough for it).
 * - `openai/sora-2-pro`: 720p (1280×720, 720×1280), 16:9 and 9:16, 4, 8 or 12 s (OpenAI's
 *   `seconds`); a first frame only (Sora's `input_reference`); sound always; no seed.
 *
 * List price (OpenRouter's model pages, openrouter.ai/google/veo-3.1 and openrouter.ai/openai/sora-2-pro,
 * as quoted by the pages we could read; OpenRouter's own `pricing_skus` were not readable from here):
 * Veo 3.1 US$0.40–0.50 per second (read as $0.40 without sound, $0.50 with it); Sora 2 Pro "from
 * $0.30 per second" (720p). Operators should check against their OpenRouter account and override
 * with `models[].price`.
 */
import type { ModelCapability } from "../capability.js";

export const OPENROUTER_MODELS: readonly ModelCapability[] = [
  {
    name: "openrouter-veo-3.1",
    family: "openrouter-veo-3.1",
    sizes: ["small", "large"],
    durations: [4, 6, 8],
    // First + last frame, or up to 3 references (OpenRouter ignores references when frames are sent).
    maxImages: 3,
    videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
    videoSeconds: [4, 6, 8],
    accepts: {
      aspectRatios: ["16:9", "9:16"],
      resolutions: ["720p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 3,
      referenceVideo: false,
      audio: "optional",
      seed: true,
      negativePrompt: false,
    },
    upstream: { openrouter: "google/veo-3.1" },
    // Credits (US$0.01) per second.
    price: { perSecond: { "*": 40 }, withAudio: { "*": 50 } },
  },
  {
    name: "openrouter-sora-2-pro",
    family: "openrouter-sora-2-pro",
    sizes: ["small"],
    durations: [4, 8, 12],
    maxImages: 1,
    videoSizes: ["1280x720", "720x1280"],
    videoSeconds: [4, 8, 12],
    accepts: {
      aspectRatios: ["16:9", "9:16"],
      resolutions: ["720p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "always",
      seed: false,
      negativePrompt: false,
    },
    upstream: { openrouter: "openai/sora-2-pro" },
    price: { perSecond: { "720p": 30 } },
  },
];
