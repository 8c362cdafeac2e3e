/**
 * Every create route ends here: the prompt's `@username` characters are resolved, the
 * `Idempotency-Key` header (if any) is checked, then the task is made.
 */
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { uploadKeysOf } from "../core/blob_keys.js";
import { errors } from "../core/errors.js";
import type { Task, VideoRequest } from "../core/task.js";
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
 * Creates the task for `request`. `input` is what the client sent (body, or form fields and file
 * hashes): two requests under one Idempotency-Key must send the same input.
 */
export async function createTask(
  s: AppServices,
  req: FastifyRequest,
  ownerId: string,
  request: VideoRequest,
  input: unknown = req.body,
): Promise<Task> {
  // This request's uploads, stored before we got here: they go if no new task is made from them.
  const dropUploads = () => Promise.all(uploadKeysOf(request).map((k) => s.blobs.delete(k)));
  try {
    const allowed = req.principal?.allowedModels;
    if (allowed && !allowed.includes(request.model)) throw errors.modelNotAllowed(request.model, allowed);
    const idempotency = idempotencyOf(req, input);
    // A link the fetch would refuse is the caller's to fix: say so now, not when the task runs.
    if (request.images.length > 0) await s.imageLinks.check(request.images, AbortSignal.timeout(5000));
    const characters = await s.characters.mentioned(ownerId, request.prompt);
    const withCharacters = characters.length > 0 ? { ...request, characters } : request;
    const { task, reused } = await s.engine.create(ownerId, withCharacters, {
      requestId: req.id,
      maxActive: req.principal?.maxActive ?? 0,
      ...(req.principal ? { keyId: req.principal.keyId } : {}),
      ...(idempotency ? { idempotency } : {}),
    });
    if (reused) {
      await dropUploads();
      req.log.info({ taskId: task.id }, "idempotent create: returned the earlier task");
    }
    return task;
  } catch (e) {
    await dropUploads().catch(() => undefined);
    throw e;
  }
}
