/** `GET /healthz` (the process answers) and `GET /readyz` (its database and queue answer too). */
import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

export function health(app: FastifyInstance, s: AppServices): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await s.db.ping();
      const queue = await s.queue.depth(s.clock.now());
      return { status: "ready", queue };
    } catch {
      return reply.code(503).send({ status: "unavailable" });
    }
  });
}
