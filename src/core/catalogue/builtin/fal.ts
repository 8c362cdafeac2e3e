/**
 * Video models on fal.ai's queue API (channel kind `fal`). Each fal model names its own inputs:
 * `inputs.fields` maps Reelay's inputs to the model's fields (see the adapter's mapping.ts for the
 * value formats: durations as a string of seconds, `"5"`).
 *
 * Sources (read 2026-12-03), the models' own pages on fal.ai (`/models/<id>/llms.txt`, `/api`):
 * - fal-ai/kling-video/v2.1/master/text-to-video: prompt, duration "5"|"10", aspect_ratio
 *   16:9|9:16|1:1, negative_prompt, cfg_scale; image-to-video: prompt, image_url, duration,
 *   negative_prompt, cfg_scale (no aspect ratio: the video takes the image's). Price: US$1.40 for
 *   5 s, US$0.28 each further second (28 credits/s). Kling 2.1 Master makes 1080p, without sound.
 * - fal-ai/wan-25-preview/text-to-video: prompt, duration "5"|"10", aspect_ratio 16:9|9:16|1:1,
 *   resolution 480p|720p|1080p, negative_prompt, enable_prompt_expansion, seed, audio_url;
 *   image-to-video: prompt, image_url (a link or a base64 data URI), resolution, duration,
 *   negative_prompt, seed, audio_url. Price: US$0.05/s at 480p, US$0.10/s at 720p, US$0.15/s at
 *   1080p. Its sound comes from a caller's `audio_url` (not a Reelay input): `audio: "none"`.
 */
import type { ModelCapability } from "../capability.js";

export const FAL_MODELS: readonly ModelCapability[] = [
  {
    name: "fal-kling-v2.1-master",
    family: "kling-v2.1",
    sizes: ["large"],
    durations: [5, 10],
    maxImages: 1,
    videoSizes: ["1920x1080", "1080x1920", "1080x1080"],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1"],
      aspectFromFirstFrame: true,
      resolutions: ["1080p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: false,
      negativePrompt: true,
    },
    upstream: {
      fal: {
        textToVideo: "fal-ai/kling-video/v2.1/master/text-to-video",
        imageToVideo: "fal-ai/kling-video/v2.1/master/image-to-video",
      },
    },
    inputs: {
      fields: {
        prompt: "prompt",
        firstFrame: "image_url",
        duration: "duration",
        aspectRatio: "aspect_ratio",
        negativePrompt: "negative_prompt",
      },
    },
    price: { perSecond: { "1080p": 28 } },
  },
  {
    name: "fal-wan-2.5",
    family: "wan-2.5",
    sizes: ["small", "large"],
    durations: [5, 10],
    maxImages: 1,
    videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1"],
      aspectFromFirstFrame: true,
      resolutions: ["480p", "720p", "1080p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: true,
      negativePrompt: true,
    },
    upstream: {
      fal: {
        textToVideo: "fal-ai/wan-25-preview/text-to-video",
        imageToVideo: "fal-ai/wan-25-preview/image-to-video",
      },
    },
    inputs: {
      fields: {
        prompt: "prompt",
        firstFrame: "image_url",
        duration: "duration",
        aspectRatio: "aspect_ratio",
        resolution: "resolution",
        negativePrompt: "negative_prompt",
        seed: "seed",
      },
    },
    price: { perSecond: { "480p": 5, "720p": 10, "1080p": 15 } },
  },
];
