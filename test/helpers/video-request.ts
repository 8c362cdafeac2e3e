/** A text-to-video request as the create routes make it, for adapter tests that call a provider directly. */
import type { VideoRequest } from "../../src/core/tasks/task.js";

export const textToVideo = (over: Partial<VideoRequest> = {}): VideoRequest => ({
  api: "unified",
  model: "test-model",
  family: "test",
  prompt: "a paper boat on a canal",
  orientation: "landscape",
  size: "small",
  width: 1280,
  height: 720,
  duration: 5,
  images: [],
  imageKeys: [],
  source: null,
  watermark: false,
  private: false,
  ...over,
});
