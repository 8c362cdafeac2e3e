/**
 * `GET /healthz` (the process answers) and `GET /readyz` (its database, queue and storage answer
 * too).
 */
import type { Route } from "../route.js";
import { healthSchema } from "../schemas.js";
import type { AppServices } from "../services.js";

/** How long one storage check answers readiness: probes hit S3 or the disk, not every request. */
const STORAGE_CHECK_MS = 2000;

export const healthz: Route = {
  method: "GET",
  url: "/healthz",
  auth: "none",
  summary: "Liveness",
  tag: "Operations",
  ok: { status: 200, schema: healthSchema, description: "The process answers" },
  errors: [],
  handler: () => async () => ({ status: "ok" }),
};

function readiness(s: AppServices) {
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
  return storageOk;
}

export const readyz: Route = {
  method: "GET",
  url: "/readyz",
  auth: "none",
  summary: "Readiness: database, queue and storage answer",
  tag: "Operations",
  ok: { status: 200, schema: healthSchema, description: "Ready" },
  also: [{ status: 503, schema: healthSchema, description: "Not ready: `{status: unavailable}`" }],
  errors: [],
  handler: (s) => {
    const storageOk = readiness(s);
    return async (_req, reply) => {
      try {
        await s.db.ping();
        const queue = await s.queue.depth(s.clock.now());
        if (!(await storageOk()))
          return reply.code(503).send({ status: "unavailable", storage: "unavailable" });
        return { status: "ready", queue, storage: "ok" };
      } catch {
        return reply.code(503).send({ status: "unavailable" });
      }
    };
  },
};
