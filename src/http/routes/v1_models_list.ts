/** `GET /v1/models`: the capability table in OpenAI's list shape. */
import type { FastifyInstance } from "fastify";
import { ORIENTATIONS } from "../../core/models.js";
import { requireKey } from "../auth.js";
import type { ModelListResponse } from "../schemas.js";
import type { AppServices } from "../services.js";

export function v1ModelsList(app: FastifyInstance, s: AppServices): void {
  // A fixed date: the table has no creation times, and a changing one would look like a new model.
  const created = Math.floor(Date.UTC(2025, 9, 6) / 1000);
  app.get(
    "/v1/models",
    { onRequest: requireKey(s) },
    async (): Promise<ModelListResponse> => ({
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
        },
      })),
    }),
  );
}
