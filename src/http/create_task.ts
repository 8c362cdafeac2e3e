/**
 * Every create route ends here: the transport side of the create use case (core/tasks/create.ts),
 * which reads the `Idempotency-Key` header and fingerprints the request it came with.
 */
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { errors } from "../core/errors.js";
import { createVideoTask, quoteVideoTask } from "../core/tasks/create.js";
import type { Quote } from "../core/tasks/quote.js";
import type { Task, VideoRequest } from "../core/tasks/task.js";
import type { VideoQuote } from "./money_schemas.js";
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

/**
 * The quote for `request` (core/tasks/create.ts `quoteVideoTask`): the checks of a create, then
 * price, balance and channel, with nothing stored.
 */
export async function quoteTask(
  s: AppServices,
  req: FastifyRequest,
  ownerId: string,
  request: VideoRequest,
  input: unknown = req.body,
): Promise<VideoQuote> {
  const quote = await quoteVideoTask(s, {
    ownerId,
    key: req.principal,
    request,
    idempotency: () => idempotencyOf(req, input),
  });
  return quoteView(quote);
}

export function quoteView(q: Quote): VideoQuote {
  const b = q.breakdown;
  return {
    object: "video.quote",
    dry_run: true,
    model: q.model,
    channel: q.channel ? { ...q.channel, predicted: true } : null,
    channel_note: q.channelNote,
    billing: q.billing,
    currency: "credits",
    price: q.credits,
    breakdown: b
      ? { rule: b.rule, seconds: b.seconds, resolution: b.resolution, audio: b.audio, rate: b.rate }
      : null,
    balance: q.balance,
    covered: q.covered,
    shortfall: q.shortfall,
  };
}

/**
 * Takes `dry_run` out of a create's body or form fields (a JSON boolean, or `"true"`/`"false"` in
 * a form): true when the caller asked for the quote instead of the task.
 */
export function takeDryRun(fields: unknown): { dryRun: boolean; rest: unknown } {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields) || !("dry_run" in fields))
    return { dryRun: false, rest: fields };
  const { dry_run: flag, ...rest } = fields as Record<string, unknown>;
  if (flag === true || flag === "true") return { dryRun: true, rest };
  if (flag === false || flag === "false") return { dryRun: false, rest };
  throw errors.invalidField("dry_run", "'dry_run' must be true or false");
}
