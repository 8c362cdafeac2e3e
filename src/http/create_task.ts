/**
 * Every create route ends here: the transport side of the create use case (core/tasks/create.ts),
 * which reads the `Idempotency-Key` header and fingerprints the request it came with.
 */
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { errors } from "../core/errors.js";
import { createVideoTask } from "../core/tasks/create.js";
import type { Task, VideoRequest } from "../core/tasks/task.js";
import type { AppServices } from "./services.js";

/** JSON with sorted keys: the same request always hashes the same. */
const canonical = (v: unknown): string =>
  Array.isArray(v)
    ? `[${v.map(canonical).join(",")}]`
    : v !== null && typeof v === "object"
      ? `{${Object.keys(v)
          .sort()
          .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
          .join(",")}}`
      : JSON.stringify(v ?? null);

function idempotencyOf(
  req: FastifyRequest,
  input: unknown,
): { key: string; fingerprint: string } | undefined {
  const header = req.headers["idempotency-key"];
  if (header === undefined) return undefined;
  if (typeof header !== "string" || !/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw errors.invalidField(
      "Idempotency-Key",
      "The Idempotency-Key header must be 1–255 visible ASCII characters",
    );
  }
  const fingerprint = createHash("sha256")
    .update(`${req.routeOptions.url ?? req.url}\n${canonical(input)}`)
    .digest("hex");
  return { key: header, fingerprint };
}

/**
 * Creates the task for `request` (core/tasks/create.ts). `input` is what the client sent (body, or
 * form fields and file hashes): two requests under one Idempotency-Key must send the same input.
 */
export function createTask(
  s: AppServices,
  req: FastifyRequest,
  ownerId: string,
  request: VideoRequest,
  input: unknown = req.body,
): Promise<Task> {
  return createVideoTask(s, {
    ownerId,
    key: req.principal,
    request,
    idempotency: () => idempotencyOf(req, input),
    requestId: req.id,
    log: req.log,
  });
}
