/** Catalogue entries for tests of the request vocabulary (REELAY_CONFIG_FILE `models`). */

/** A model that takes every addition, and one shaped like Veo (durations 4, 6 or 8, always sound). */
export const VOCAB_MODELS = [
  {
    name: "vocab-full",
    family: "vocab",
    sizes: ["small", "large"],
    durations: [1, 2],
    maxImages: 5,
    videoSizes: ["1280x720", "720x1280"],
    videoSeconds: [1, 2],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1"],
      resolutions: ["480p", "720p", "1080p"],
      firstFrame: true,
      lastFrame: true,
      referenceImages: 3,
      audio: "optional",
      seed: true,
      negativePrompt: true,
    },
  },
  {
    name: "vocab-veo",
    family: "vocab",
    sizes: ["small", "large"],
    durations: [4, 6, 8],
    maxImages: 1,
    videoSizes: ["1280x720"],
    videoSeconds: [4, 6, 8],
    accepts: {
      aspectRatios: ["16:9", "9:16"],
      resolutions: ["720p", "1080p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      audio: "always",
      seed: false,
      negativePrompt: false,
    },
  },
];
