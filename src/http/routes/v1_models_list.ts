/** `GET /v1/models`: the capability table in OpenAI's list shape. */
import { ORIENTATIONS } from "../../core/catalogue/models.js";
import type { Route } from "../route.js";
import { type ModelListResponse, modelListResponseSchema } from "../schemas.js";

// A fixed date: the table has no creation times, and a changing one would look like a new model.
const created = Math.floor(Date.UTC(2025, 9, 6) / 1000);

export const v1ModelsList: Route = {
  method: "GET",
  url: "/v1/models",
  auth: "key",
  summary: "List video models",
  tag: "OpenAI-compatible API",
  ok: { status: 200, schema: modelListResponseSchema, description: "The capability table" },
  errors: [],
  handler: (s) => async (): Promise<ModelListResponse> => ({
    object: "list",
    data: [...s.models.values()].map((m) => ({
      id: m.name,
      object: "model",
      created,
      owned_by: "reelay",
      capabilities: {
        orientations: [...ORIENTATIONS],
        sizes: [...m.sizes],
        durations: [...m.durations],
        max_images: m.maxImages,
        video_sizes: [...m.videoSizes],
        video_seconds: [...m.videoSeconds],
        // A model without `accepts` takes the seed's fields only: none of the additions.
        aspect_ratios: [...(m.accepts?.aspectRatios ?? [])],
        resolutions: [...(m.accepts?.resolutions ?? [])],
        first_frame: m.accepts?.firstFrame ?? m.maxImages > 0,
        last_frame: m.accepts?.lastFrame ?? false,
        reference_images: m.accepts?.referenceImages ?? 0,
        reference_video: m.accepts?.referenceVideo ?? false,
        audio: m.accepts?.audio ?? "none",
        seed: m.accepts?.seed ?? false,
        negative_prompt: m.accepts?.negativePrompt ?? false,
      },
    })),
  }),
};
