/**
 * Kling AI models served by `kling` channels (Kling's own API, api-singapore.klingai.com).
 *
 * From Kling's API reference (app.klingai.com/global/dev/document-api, "Video Generation" capability
 * map and "Text to Video" / "Image to Video"): kling-v2-1-master makes 1080p at 24 fps only (the map
 * lists no std/pro mode for it), 5 or 10 s, aspect ratios 16:9, 9:16, 1:1 (text to video; image to
 * video takes the image's), text to video and image to video with a first frame but no end frame
 * (`image_tail`: "others –" for this model), `negative_prompt` yes, `cfg_scale` not for v2.x, no seed
 * field, no sound (`sound` is for v2.6 and later).
 *
 * List price: Kling bills in resource-pack units per task (Kling's "Billing Info" page), not a
 * published per-second USD price. The catalogue price below is what hosted resellers list for this
 * model (US$1.40 for 5 s, i.e. US$0.28 a second): an estimate, to override with `models[].price`
 * from the operator's own Kling contract.
 */
import type { ModelCapability } from "../capability.js";

export const KLING_MODELS: readonly ModelCapability[] = [
  {
    name: "kling-v2.1-master",
    family: "kling-v2.1",
    sizes: ["large"],
    durations: [5, 10],
    maxImages: 1,
    videoSizes: ["1920x1080", "1080x1920"],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1"],
      resolutions: ["1080p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      audio: "none",
      seed: false,
      negativePrompt: true,
    },
    upstream: { kling: "kling-v2-1-master" },
    // Credits (US$0.01) per second: the estimate above.
    price: { perSecond: { "*": 28 } },
  },
];
