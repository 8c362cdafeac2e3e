/**
 * Video models on Replicate (channel kind `replicate`), with each model's own input names
 * (`inputs`), from the model's API page on replicate.com.
 *
 * - `minimax/hailuo-02` (https://replicate.com/minimax/hailuo-02/api, version c43b610e…): inputs
 *   `prompt`, `first_frame_image` ("the output video will have the same aspect ratio as this
 *   image"), `last_frame_image`, `duration` (6 default; "10 seconds is only available for 768p"),
 *   `resolution` (`512p`, `768p`, `1080p` default), `prompt_optimizer` (default true, left to it).
 *   Text-to-video is 16:9 (MiniMax's Hailuo-02: platform.minimax.io video-generation-t2v). Its
 *   `small` seed size would be 720p, which Hailuo does not make: offered at `large` (1080p, 6 s)
 *   and at the `resolution` values it names; 1080p at 10 s is refused by Replicate (422).
 * - `kwaivgi/kling-v2.1` (https://replicate.com/kwaivgi/kling-v2.1/api; its schema as republished at
 *   api.core.today/v1/models/kwaivgi/kling-v2.1/llms.txt): `prompt`, `start_image` (required: an
 *   image-to-video model; a request without a first frame is refused by Replicate, 422),
 *   `end_image` ("pro mode only"), `duration` (5, 10), `negative_prompt`, `mode` (`standard` 720p,
 *   `pro` 1080p): sent as `pro`, so the model makes 1080p and takes an end frame.
 *
 * Price: Replicate bills these models per second of output, but its pricing pages could not be
 * read from here, so no catalogue price is given: set `models[].price` from the operator's
 * Replicate account.
 */
import type { ModelCapability } from "../capability.js";

export const REPLICATE_MODELS: readonly ModelCapability[] = [
  {
    name: "replicate-hailuo-02",
    family: "hailuo-02",
    sizes: ["large"],
    durations: [6, 10],
    maxImages: 2,
    // 1366×768 is Hailuo's 768p (the only tier with 10 s), 1920×1080 its 1080p.
    videoSizes: ["1366x768", "1920x1080"],
    videoSeconds: [6, 10],
    accepts: {
      aspectRatios: ["16:9"],
      aspectFromFirstFrame: true,
      resolutions: ["512p", "768p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: false,
      negativePrompt: false,
    },
    upstream: { replicate: "minimax/hailuo-02" },
    inputs: {
      fields: {
        prompt: "prompt",
        firstFrame: "first_frame_image",
        lastFrame: "last_frame_image",
        duration: "duration",
        resolution: "resolution",
      },
    },
  },
  {
    name: "replicate-kling-v2.1",
    family: "kling-v2.1",
    sizes: ["large"],
    durations: [5, 10],
    maxImages: 2,
    videoSizes: ["1920x1080"],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9"],
      // The video takes its (required) start image's aspect ratio.
      aspectFromFirstFrame: true,
      resolutions: ["1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: false,
      negativePrompt: true,
    },
    upstream: { replicate: "kwaivgi/kling-v2.1" },
    inputs: {
      fields: {
        prompt: "prompt",
        firstFrame: "start_image",
        lastFrame: "end_image",
        duration: "duration",
        negativePrompt: "negative_prompt",
      },
      fixed: { mode: "pro" },
    },
  },
];
