/** `GET /metrics`: Prometheus text format, behind the admin token (it shows load and error rates). */
import type { FastifyInstance } from "fastify";
import { requireAdmin } from "../auth.js";
import type { AppServices } from "../services.js";

export function metrics(app: FastifyInstance, s: AppServices): void {
  app.get("/metrics", { onRequest: requireAdmin(s.adminTokenHash, s.keys, s.clock) }, async (_req, reply) => {
    const body = await s.metrics.registry.metrics();
    return reply.type(s.metrics.registry.contentType).send(body);
  });
}
