/**
 * Runway models served by `runway` channels (Runway's API, api.dev.runwayml.com).
 *
 * From Runway's OpenAPI-generated SDK (runwayml/sdk-node `src/resources/text-to-video.ts`,
 * `image-to-video.ts`, read 2026-12-03):
 * - `gen4.5`: text-to-video at `1280:720`/`720:1280`; image-to-video (a first frame only) also at
 *   `1104:832`, `832:1104`, `960:960`, `1584:672`; duration an integer 2–10 s; `seed`; no sound,
 *   no negative prompt, no last frame, no references.
 * - `gen4_turbo`: image-to-video ONLY (a first frame is required; the text-to-video endpoint does
 *   not list it), the same six ratios, 5 or 10 s (the SDK's last explicit statement, 2025-09:
 *   "gen4_turbo … must specify a duration of 5 or 10"; since 2025-11 it types `duration` as a bare
 *   number without a range, and resellers list 2–10 s: kept at what Runway wrote), `seed`. The catalogue cannot mark a first frame as required: its entry says
 *   `firstFrame: true`, and a request without one is refused by the adapter before anything is
 *   sent (the task fails `upstream_rejected`, naming `first_frame`). Its 720p-class sizes are all
 *   it makes: its `videoSizes` are the two 16:9/9:16 ones.
 * - `veo3.1` (Google's Veo 3.1 through Runway): `1280:720`, `720:1280`, `1920:1080`, `1080:1920`;
 *   4, 6 or 8 s; a first frame and optionally a last frame; `audio` (a choice, "affects
 *   pricing"); `negativePrompt`; no seed. Named `runway-veo3.1` here (the Gemini API's is `veo-3.1`).
 *
 * List price (Runway API pricing, https://docs.dev.runwayml.com/guides/pricing/, 1 Runway credit =
 * US$0.01, as republished in Runway's API skill reference): gen4.5 12 credits/s, gen4_turbo
 * 5 credits/s, veo3.1 20 credits/s without audio and 40 with audio. Reelay's credit is also
 * US$0.01, so the figures carry over as they are.
 */
import type { ModelCapability } from "../capability.js";

export const RUNWAY_MODELS: readonly ModelCapability[] = [
  {
    name: "gen4.5",
    family: "gen-4.5",
    sizes: ["small"],
    durations: [2, 3, 4, 5, 6, 7, 8, 9, 10],
    maxImages: 1,
    videoSizes: ["1280x720", "720x1280"],
    videoSeconds: [2, 3, 4, 5, 6, 7, 8, 9, 10],
    accepts: {
      // 4:3, 3:4, 1:1 and 21:9 from a first frame only (text-to-video: 16:9, 9:16).
      aspectRatios: ["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"],
      resolutions: ["720p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: true,
      negativePrompt: false,
    },
    upstream: { runway: "gen4.5" },
    price: { perSecond: { "*": 12 } },
  },
  {
    name: "gen4-turbo",
    family: "gen-4-turbo",
    sizes: ["small"],
    durations: [5, 10],
    maxImages: 1,
    videoSizes: ["1280x720", "720x1280"],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9", "9:16", "4:3", "3:4", "1:1", "21:9"],
      resolutions: ["720p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: true,
      negativePrompt: false,
    },
    upstream: { runway: "gen4_turbo" },
    price: { perSecond: { "*": 5 } },
  },
  {
    name: "runway-veo3.1",
    family: "veo-3.1",
    sizes: ["small", "large"],
    durations: [4, 6, 8],
    maxImages: 2,
    videoSizes: ["1280x720", "720x1280", "1920x1080", "1080x1920"],
    videoSeconds: [4, 6, 8],
    accepts: {
      aspectRatios: ["16:9", "9:16"],
      resolutions: ["720p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 0,
      referenceVideo: false,
      audio: "optional",
      seed: false,
      negativePrompt: true,
    },
    upstream: { runway: "veo3.1" },
    price: { perSecond: { "*": 20 }, withAudio: { "*": 40 } },
  },
];
