/**
 * The one closed set of error codes Reelay returns, and the named factories that build them.
 * HTTP status and envelope type are mapped from the code at the edge (src/http/errors.ts).
 */
import type { UpstreamErrorClass } from "./upstream/ports.js";

export const ErrorCode = {
  invalidRequest: "invalid_request",
  invalidJson: "invalid_json",
  unsupportedMediaType: "unsupported_media_type",
  payloadTooLarge: "payload_too_large",
  missingApiKey: "missing_api_key",
  invalidApiKey: "invalid_api_key",
  invalidAdminToken: "invalid_admin_token",
  adminOnly: "admin_only",
  modelNotAllowed: "model_not_allowed",
  notFound: "not_found",
  taskNotFound: "task_not_found",
  characterNotFound: "character_not_found",
  linkExpired: "link_expired",
  linkInvalid: "link_invalid",
  rangeNotSatisfiable: "range_not_satisfiable",
  methodNotAllowed: "method_not_allowed",
  videoNotReady: "video_not_ready",
  videoPrivate: "video_private",
  taskNotCancellable: "task_not_cancellable",
  webhookNotRetryable: "webhook_not_retryable",
  idempotencyConflict: "idempotency_conflict",
  rateLimited: "rate_limited",
  insufficientCredits: "insufficient_credits",
  tooManyActiveTasks: "too_many_active_tasks",
  tooManyStreams: "too_many_streams",
  unsupportedParameter: "unsupported_parameter",
  serverBusy: "server_busy",
  requestTimeout: "request_timeout",
  uriTooLong: "uri_too_long",
  headersTooLarge: "headers_too_large",
  internal: "internal_error",
  // Failures recorded on tasks (never an HTTP response of their own).
  renderFailed: "render_failed",
  imageFetchFailed: "image_fetch_failed",
  imageRefused: "image_refused",
  watermarkRemovalFailed: "watermark_removal_failed",
  taskTimeout: "task_timeout",
  retriesExhausted: "retries_exhausted",
  providerUnavailable: "provider_unavailable",
  upstreamRejected: "upstream_rejected",
  upstreamOutcomeUnknown: "upstream_outcome_unknown",
  upstreamFailed: "upstream_failed",
  upstreamExpired: "upstream_expired",
  upstreamBadContent: "upstream_bad_content",
  /** The provider's moderation refused the prompt, an input or the result: never retried elsewhere. */
  contentPolicy: "content_policy",
  // Both: a download answers 503 with it, a task's attempt is retried on it.
  storageUnavailable: "storage_unavailable",
  callbackRefused: "callback_refused",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error that carries a code from the closed set, the request field at fault, and whether a retry can help. */
export class ReelayError extends Error {
  readonly code: ErrorCode;
  readonly param: string | null;
  readonly retryable: boolean;
  /** Seconds after which a retry makes sense (from an upstream's Retry-After), if known. */
  readonly retryAfterS: number | null;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { param?: string | null; retryable?: boolean; retryAfterS?: number | null; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ReelayError";
    this.code = code;
    this.param = opts.param ?? null;
    this.retryable = opts.retryable ?? false;
    this.retryAfterS = opts.retryAfterS ?? null;
  }
}

export const isReelayError = (e: unknown): e is ReelayError => e instanceof ReelayError;

/**
 * An upstream's refusal of a create (`upstream_rejected`), with its class in the error taxonomy
 * where the adapter knows it: the class then decides whether the create moves on to the next
 * channel and whether the channel counts a failure (core/upstream/taxonomy.ts).
 */
export class UpstreamRefusal extends ReelayError {
  readonly errorClass: UpstreamErrorClass | null;
  constructor(
    message: string,
    opts: { retryable: boolean; retryAfterS: number | null; errorClass: UpstreamErrorClass | null },
  ) {
    super(ErrorCode.upstreamRejected, message, { retryable: opts.retryable, retryAfterS: opts.retryAfterS });
    this.errorClass = opts.errorClass;
  }
}

/** Named factories: call sites read as what went wrong, not how it is encoded. */
export const errors = {
  invalidField: (param: string, message: string) =>
    new ReelayError(ErrorCode.invalidRequest, message, { param }),
  invalidJson: (detail: string) =>
    new ReelayError(ErrorCode.invalidJson, `The request body is not valid JSON: ${detail}`),
  unsupportedMediaType: (got: string | undefined) =>
    new ReelayError(
      ErrorCode.unsupportedMediaType,
      `Content-Type must be application/json${got ? ` (got ${got})` : ""}`,
    ),
  payloadTooLarge: (limit: number) =>
    new ReelayError(ErrorCode.payloadTooLarge, `The request body is larger than ${limit} bytes`),
  /** A form field longer than the form parser keeps: a large image goes in a file part. */
  fieldTooLarge: (field: string, limit: number) =>
    new ReelayError(
      ErrorCode.payloadTooLarge,
      `Form field '${field}' is longer than ${limit} bytes: send large content (an image) as a file part instead`,
      { param: field },
    ),
  missingApiKey: () =>
    new ReelayError(ErrorCode.missingApiKey, "Missing API key: send it as 'Authorization: Bearer <key>'"),
  invalidApiKey: () => new ReelayError(ErrorCode.invalidApiKey, "The API key is not valid"),
  keyUnusable: (why: "revoked" | "expired") =>
    new ReelayError(ErrorCode.invalidApiKey, `The API key has been ${why}`),
  modelNotAllowed: (model: string, allowed: readonly string[]) =>
    new ReelayError(
      ErrorCode.modelNotAllowed,
      `This API key may not use model '${model}'; it may use: ${allowed.join(", ")}`,
      {
        param: "model",
      },
    ),
  keyNotFound: (id: string) =>
    new ReelayError(ErrorCode.notFound, `No API key with id '${id}'`, { param: "id" }),
  invalidAdminToken: () =>
    new ReelayError(ErrorCode.invalidAdminToken, "The admin token is missing or not valid"),
  adminOnly: () => new ReelayError(ErrorCode.adminOnly, "This route needs the admin token, not an API key"),
  webhookDeliveryNotFound: (id: string) =>
    new ReelayError(ErrorCode.notFound, `No webhook delivery with id '${id}'`, { param: "id" }),
  webhookNotRetryable: (id: string, status: string) =>
    new ReelayError(
      ErrorCode.webhookNotRetryable,
      `Webhook delivery '${id}' is ${status}: only a failed delivery can be retried`,
      { param: "id" },
    ),
  webhookNotFound: (id: string) =>
    new ReelayError(ErrorCode.notFound, `No webhook endpoint with id '${id}'`, { param: "id" }),
  taskNotFound: (id: string) =>
    new ReelayError(ErrorCode.taskNotFound, `No task with id '${id}'`, { param: "id" }),
  characterNotFound: (id: string) =>
    new ReelayError(ErrorCode.characterNotFound, `No character with id '${id}'`, { param: "id" }),
  callbackRefused: (why: string) =>
    new ReelayError(ErrorCode.callbackRefused, `The callback is refused: ${why}`),
  callbacksOff: (channel: string) =>
    new ReelayError(ErrorCode.notFound, `No channel '${channel}' takes provider callbacks`, {
      param: "channel",
    }),
  routeNotFound: (method: string, url: string) =>
    new ReelayError(ErrorCode.notFound, `No route for ${method} ${url}`),
  linkExpired: () =>
    new ReelayError(ErrorCode.linkExpired, "This link has expired: query the task for a fresh one"),
  linkInvalid: () => new ReelayError(ErrorCode.linkInvalid, "This link's signature is not valid"),
  rangeNotSatisfiable: (size: number) =>
    new ReelayError(ErrorCode.rangeNotSatisfiable, `The requested range is outside the file (${size} bytes)`),
  internal: () => new ReelayError(ErrorCode.internal, "Internal error"),
  /** This process is reading as many request bodies as its memory allows: retry shortly. */
  serverBusy: (retryAfterS: number) =>
    new ReelayError(
      ErrorCode.serverBusy,
      `The server is reading as many large request bodies as its memory allows: retry in ${retryAfterS} s`,
      { retryable: true, retryAfterS },
    ),
  requestTimeout: (ms: number) =>
    new ReelayError(ErrorCode.requestTimeout, `The request was not received in full within ${ms} ms`),
  uriTooLong: (max: number) =>
    new ReelayError(ErrorCode.uriTooLong, `A path segment of the URL is longer than ${max} characters`),
  headersTooLarge: () =>
    new ReelayError(ErrorCode.headersTooLarge, "The request's headers are larger than the server accepts"),
  badUrl: () =>
    new ReelayError(ErrorCode.invalidRequest, "The URL is not valid: its percent-encoding is not UTF-8", {
      param: "url",
    }),
  /** Retryable when the cause may be the machine's (a crash, a full disk), not the request's. */
  renderFailed: (message: string, opts: { retryable?: boolean; cause?: unknown } = {}) =>
    new ReelayError(ErrorCode.renderFailed, message, opts),
  imageFetchFailed: (index: number, message: string, retryable: boolean) =>
    new ReelayError(ErrorCode.imageFetchFailed, `images[${index}]: ${message}`, {
      param: `images[${index}]`,
      retryable,
    }),
  imageRefused: (index: number, message: string) =>
    new ReelayError(ErrorCode.imageRefused, `images[${index}]: ${message}`, { param: `images[${index}]` }),
  videoNotReady: (id: string, status: string) =>
    new ReelayError(
      ErrorCode.videoNotReady,
      `Video '${id}' is ${status}, not completed: wait until it completes`,
      {
        param: "id",
      },
    ),
  insufficientCredits: (price: number, balance: number) =>
    new ReelayError(
      ErrorCode.insufficientCredits,
      `This video costs ${price} credits and the balance is ${balance}: ${price - balance} short. Top up, then retry`,
    ),
  noPrice: (model: string) =>
    new ReelayError(
      ErrorCode.invalidRequest,
      `Model '${model}' has no price in the price table, so it cannot be billed`,
      {
        param: "model",
      },
    ),
  rateLimited: (perMin: number, retryAfterS: number) =>
    new ReelayError(
      ErrorCode.rateLimited,
      `Rate limit: ${perMin} requests a minute for this key; retry in ${retryAfterS} s`,
      {
        retryable: true,
        retryAfterS,
      },
    ),
  tooManyActiveTasks: (max: number) =>
    new ReelayError(
      ErrorCode.tooManyActiveTasks,
      `This key may have ${max} pending or processing tasks at once; wait for one to finish`,
      { retryable: true, retryAfterS: 5 },
    ),
  tooManyStreams: (max: number) =>
    new ReelayError(
      ErrorCode.tooManyStreams,
      `This key may have ${max} event streams open at once on this server; close one first`,
      { retryable: true, retryAfterS: 5 },
    ),
  idempotencyConflict: (key: string) =>
    new ReelayError(
      ErrorCode.idempotencyConflict,
      `Idempotency-Key '${key.slice(0, 80)}' was already used with a different request: use a new key for a new request`,
      { param: "Idempotency-Key" },
    ),
  idempotencyInProgress: (key: string) =>
    new ReelayError(
      ErrorCode.idempotencyConflict,
      `A request with Idempotency-Key '${key.slice(0, 80)}' is in progress: retry shortly`,
      {
        param: "Idempotency-Key",
        retryable: true,
      },
    ),
  notCancellable: (id: string, status: string) =>
    new ReelayError(
      ErrorCode.taskNotCancellable,
      `Task '${id}' is already ${status}: only pending or processing tasks can be cancelled`,
      {
        param: "id",
      },
    ),
  videoPrivate: (id: string) =>
    new ReelayError(
      ErrorCode.videoPrivate,
      `Video '${id}' is private: a private video cannot be remixed, edited or extended`,
      { param: "id" },
    ),
  unsupportedParameter: (param: string, message: string) =>
    new ReelayError(ErrorCode.unsupportedParameter, message, { param }),
  watermarkRemovalFailed: (attempts: number, last: string) =>
    new ReelayError(
      ErrorCode.watermarkRemovalFailed,
      `The watermark could not be removed after ${attempts} attempts (watermark: false asks for a clean video): ${last}`,
    ),
  /** A remover's own failure: retryable unless the remover says otherwise. */
  watermarkRemover: (message: string, retryable = true, cause?: unknown) =>
    new ReelayError(ErrorCode.watermarkRemovalFailed, message, { retryable, cause }),
  taskTimeout: (seconds: number, detail?: string) =>
    new ReelayError(
      ErrorCode.taskTimeout,
      `The task did not finish within its deadline of ${seconds} s${detail ? `: ${detail}` : ""}`,
    ),
  /**
   * An upstream refused a create. `retryable`: the channel is at fault (429, 5xx, bad credential,
   * unreachable), so another channel may take the task; else the request is. `class`: the refusal's
   * class in the error taxonomy, when known (it then decides instead of `retryable`).
   */
  upstreamRejected: (
    channel: string,
    detail: { status: number | null; code: string | null; message: string; class?: UpstreamErrorClass },
    opts: { retryable: boolean; retryAfterS?: number | null },
  ) => {
    const said = [detail.status ? `HTTP ${detail.status}` : null, detail.code].filter(Boolean).join(", ");
    return new UpstreamRefusal(
      `Rejected at submit by channel '${channel}'${said ? ` (${said})` : ""}: ${detail.message}`,
      { retryable: opts.retryable, retryAfterS: opts.retryAfterS ?? null, errorClass: detail.class ?? null },
    );
  },
  /** A create was sent but its answer never came (timeout, reset, garbled body): the upstream may hold the task. */
  upstreamOutcomeUnknown: (channel: string, message: string, retryable: boolean) =>
    new ReelayError(
      ErrorCode.upstreamOutcomeUnknown,
      `The create sent to channel '${channel}' got no usable answer (${message}); ${
        retryable
          ? "it will be sent again with the same idempotency key"
          : "it is not sent elsewhere, so the video is not made (or billed) twice"
      }`,
      { retryable },
    ),
  /** The upstream ran the task and reports it failed: its own code and reason, passed through. */
  upstreamFailed: (channel: string, code: string | null, reason: string) =>
    new ReelayError(
      ErrorCode.upstreamFailed,
      `Failed while running at channel '${channel}'${code ? ` (upstream code ${code})` : ""}: ${reason}`,
    ),
  /**
   * The provider's content moderation refused the request or its result. Never retried, never
   * failed over (another channel would judge the same prompt the same way).
   */
  contentPolicy: (channel: string, code: string | null, reason: string) =>
    new ReelayError(
      ErrorCode.contentPolicy,
      `Refused by the content policy of channel '${channel}'${code ? ` (upstream code ${code})` : ""}: ${reason}`,
    ),
  upstreamExpired: (channel: string, status: string) =>
    new ReelayError(
      ErrorCode.upstreamExpired,
      `Channel '${channel}' reports the task as '${status}': it ended there without a video`,
    ),
  /** A result download that is not a video (an error page, a wrong type, too big). */
  upstreamBadContent: (channel: string, message: string, retryable = true) =>
    new ReelayError(
      ErrorCode.upstreamBadContent,
      `Downloading the result from channel '${channel}' failed: ${message}`,
      {
        retryable,
      },
    ),
  /** No channel serves the model now (all in cool-down or at their concurrency cap). */
  channelsUnavailable: (model: string, why: string, retryAfterS: number | null = null) =>
    new ReelayError(ErrorCode.providerUnavailable, `No channel can take model '${model}' now: ${why}`, {
      retryable: true,
      retryAfterS,
    }),
  /** A failed-over task was tried on every channel serving its model (not a passing state: no retry). */
  noChannelLeft: (model: string, tried: readonly string[]) =>
    new ReelayError(
      ErrorCode.providerUnavailable,
      `Every channel serving model '${model}' was tried for this task (${tried.join(", ")})`,
    ),
  /** No configured channel can make this kind of task at all (not a passing state: no retry). */
  noChannelFor: (model: string, what: string) =>
    new ReelayError(
      ErrorCode.providerUnavailable,
      `No channel can make ${what} for model '${model}': they need the local renderer (a channel of kind 'local') or the upstream that made the source video`,
    ),
  /**
   * The blob store failed (S3 unreachable or 5xx, a failing or full disk). `retryable`: a passing
   * fault, retried after a pause; otherwise the store refuses (credentials, permissions).
   */
  /**
   * A storyboard's shot failed for good (or was cancelled or deleted): the storyboard fails with the
   * shot's own code where it is one of Reelay's (a content refusal stays `content_policy`).
   */
  shotFailed: (index: number, shot: { code: string; message: string } | null) =>
    new ReelayError(
      (Object.values(ErrorCode) as string[]).includes(shot?.code ?? "")
        ? (shot?.code as ErrorCode)
        : ErrorCode.renderFailed,
      `Shot ${index} (shots[${index}]) did not complete: ${shot?.message ?? "its task was deleted"}`,
    ),
  storageUnavailable: (what: string, opts: { retryable: boolean; cause?: unknown }) =>
    new ReelayError(
      ErrorCode.storageUnavailable,
      opts.retryable
        ? `Storage is unavailable (${what}): retry shortly`
        : `Storage refused ${what}: check the storage settings`,
      { retryable: opts.retryable, retryAfterS: 5, cause: opts.cause },
    ),
  retriesExhausted: (attempts: number, last: string) =>
    new ReelayError(ErrorCode.retriesExhausted, `Gave up after ${attempts} attempts; last error: ${last}`),
};
