/**
 * `GET /healthz` (the process answers) and `GET /readyz` (its database, queue and storage answer
 * too).
 */
import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

/** How long one storage check answers readiness: probes hit S3 or the disk, not every request. */
const STORAGE_CHECK_MS = 2000;

export function health(app: FastifyInstance, s: AppServices): void {
  let storage: { at: number; ok: Promise<boolean> } | null = null;
  const storageOk = (): Promise<boolean> => {
    const now = s.clock.now();
    if (!storage || now - storage.at >= STORAGE_CHECK_MS) {
      storage = {
        at: now,
        ok: s.blobs.check().then(
          () => true,
          () => false,
        ),
      };
    }
    return storage.ok;
  };

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    try {
      await s.db.ping();
      const queue = await s.queue.depth(s.clock.now());
      if (!(await storageOk()))
        return reply.code(503).send({ status: "unavailable", storage: "unavailable" });
      return { status: "ready", queue, storage: "ok" };
    } catch {
      return reply.code(503).send({ status: "unavailable" });
    }
  });
}
