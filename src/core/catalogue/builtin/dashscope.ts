/**
 * Alibaba Wan models on DashScope / Model Studio (channel kind `dashscope`).
 *
 * List price per second of output video, audio included (wan2.5 preview, t2v and i2v alike):
 *   Beijing region (CNY):           480P ¥0.30 · 720P ¥0.60 · 1080P ¥1.00
 *   Singapore/international (USD):  480P $0.05 · 720P $0.10 · 1080P $0.15
 * Sources: Model Studio model pricing (https://www.alibabacloud.com/help/en/model-studio/models
 * and https://help.aliyun.com/zh/model-studio/models), as quoted by gateways that pass it through
 * (docs.crazyrouter.com/en/video/wan "official price"; eachlabs wan-2-5-preview pricing rules).
 *
 * Capabilities from the Model Studio text-to-video and image-to-video API references:
 * t2v takes `size` W*H from a fixed list (480P: 16:9, 9:16, 1:1; 720P and 1080P also 4:3, 3:4),
 * i2v takes `resolution` 480P/720P/1080P with the image's aspect ratio; duration 5 or 10 s;
 * `negative_prompt`, `seed`; always with sound (auto-dubbed; a custom `audio_url` track is
 * documented too, which Reelay's request has no field for); one first-frame image (`img_url`),
 * no last frame, no reference images.
 */
import type { ModelCapability } from "../capability.js";

export const DASHSCOPE_MODELS: readonly ModelCapability[] = [
  {
    name: "wan2.5",
    family: "wan2.5",
    sizes: ["small", "large"],
    durations: [5, 10],
    maxImages: 1,
    videoSizes: [
      "832x480",
      "480x832",
      "1280x720",
      "720x1280",
      "1920x1080",
      "1080x1920",
      "624x624",
      "960x960",
      "1440x1440",
      "1088x832",
      "832x1088",
      "1632x1248",
      "1248x1632",
    ],
    videoSeconds: [5, 10],
    accepts: {
      aspectRatios: ["16:9", "9:16", "1:1", "4:3", "3:4"],
      resolutions: ["480p", "720p", "1080p"],
      firstFrame: true,
      lastFrame: false,
      referenceImages: 0,
      referenceVideo: false,
      // "Video with audio" in Model Studio's model tables: no silent option for wan2.5.
      audio: "always",
      seed: true,
      negativePrompt: true,
    },
    upstream: { dashscope: { textToVideo: "wan2.5-t2v-preview", imageToVideo: "wan2.5-i2v-preview" } },
    // Credits (US$0.01) per second, sound included: the international list price above.
    price: { perSecond: { "480p": 5, "720p": 10, "1080p": 15 } },
  },
];
