/**
 * Luma's Ray 2 models (channel kind `luma`, Dream Machine API).
 *
 * What they make (lumalabs/lumaai-api `openapi.yaml`; lumalabs/lumaai-node `Generation.GenerationRequest`;
 * https://docs.lumalabs.ai/docs/video-generation): `ray-2` and `ray-flash-2`, text-to-video or from
 * keyframes — a start frame (`frame0`) and/or an end frame (`frame1`), images by URL only; aspect
 * ratios 1:1, 16:9, 9:16, 4:3, 3:4, 21:9, 9:21; resolutions 540p, 720p, 1080p, 4k (Reelay's
 * `2160p`); durations 5 s and 9 s. No seed, no negative prompt, no sound (Luma's `/audio` is a
 * separate step on a finished generation), no reference images.
 *
 * List price: none given here. Luma's own price page (lumalabs.ai/api/pricing) could not be read
 * from here, and the figures third parties quote for the Dream Machine API disagree with each other
 * (resellers' prices, per generation or per second): the operator sets `models[].price` from their
 * Luma account.
 */
import type { ModelCapability } from "../capability.js";

const RAY_ACCEPTS = {
  aspectRatios: ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21"],
  resolutions: ["540p", "720p", "1080p", "2160p"],
  firstFrame: true,
  lastFrame: true,
  referenceImages: 0,
  referenceVideo: false,
  audio: "none",
  seed: false,
  negativePrompt: false,
} as const;

const RAY = {
  sizes: ["small", "large"],
  durations: [5, 9],
  // A start frame and an end frame (keyframes frame0, frame1).
  maxImages: 2,
  videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
  videoSeconds: [5, 9],
  accepts: RAY_ACCEPTS,
} as const;

export const LUMA_MODELS: readonly ModelCapability[] = [
  { name: "ray-2", family: "ray-2", ...RAY, upstream: { luma: "ray-2" } },
  { name: "ray-flash-2", family: "ray-flash-2", ...RAY, upstream: { luma: "ray-flash-2" } },
];
