/**
 * The edge of the error path: every error leaves as one JSON envelope,
 * `{"error":{"message","type","code","param"}}` (OpenAI's shape, which its clients parse), with a
 * status taken from the one code→status map below.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyReply } from "fastify";
import { ErrorCode, errors, isReelayError, type ReelayError } from "../core/errors.js";

export const STATUS: Record<ErrorCode, { status: number; type: string }> = {
  [ErrorCode.invalidRequest]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.invalidJson]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.unsupportedMediaType]: { status: 415, type: "invalid_request_error" },
  [ErrorCode.payloadTooLarge]: { status: 413, type: "invalid_request_error" },
  [ErrorCode.missingApiKey]: { status: 401, type: "authentication_error" },
  [ErrorCode.callbackRefused]: { status: 401, type: "authentication_error" },
  [ErrorCode.invalidApiKey]: { status: 401, type: "authentication_error" },
  [ErrorCode.invalidAdminToken]: { status: 401, type: "authentication_error" },
  [ErrorCode.adminOnly]: { status: 403, type: "permission_error" },
  [ErrorCode.modelNotAllowed]: { status: 403, type: "permission_error" },
  [ErrorCode.notFound]: { status: 404, type: "not_found_error" },
  [ErrorCode.taskNotFound]: { status: 404, type: "not_found_error" },
  [ErrorCode.characterNotFound]: { status: 404, type: "not_found_error" },
  [ErrorCode.linkExpired]: { status: 403, type: "permission_error" },
  [ErrorCode.linkInvalid]: { status: 403, type: "permission_error" },
  [ErrorCode.rangeNotSatisfiable]: { status: 416, type: "invalid_request_error" },
  [ErrorCode.methodNotAllowed]: { status: 405, type: "invalid_request_error" },
  [ErrorCode.videoNotReady]: { status: 409, type: "invalid_request_error" },
  [ErrorCode.videoPrivate]: { status: 403, type: "permission_error" },
  [ErrorCode.taskNotCancellable]: { status: 409, type: "invalid_request_error" },
  [ErrorCode.webhookNotRetryable]: { status: 409, type: "invalid_request_error" },
  [ErrorCode.idempotencyConflict]: { status: 409, type: "invalid_request_error" },
  [ErrorCode.rateLimited]: { status: 429, type: "rate_limit_error" },
  [ErrorCode.insufficientCredits]: { status: 402, type: "insufficient_quota" },
  [ErrorCode.tooManyActiveTasks]: { status: 429, type: "rate_limit_error" },
  [ErrorCode.tooManyStreams]: { status: 429, type: "rate_limit_error" },
  [ErrorCode.unsupportedParameter]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.serverBusy]: { status: 503, type: "server_error" },
  [ErrorCode.requestTimeout]: { status: 408, type: "invalid_request_error" },
  [ErrorCode.uriTooLong]: { status: 414, type: "invalid_request_error" },
  [ErrorCode.headersTooLarge]: { status: 431, type: "invalid_request_error" },
  [ErrorCode.internal]: { status: 500, type: "server_error" },
  // Task failure codes appear inside task bodies; if one ever reaches the edge it is a server fault.
  [ErrorCode.renderFailed]: { status: 500, type: "server_error" },
  [ErrorCode.imageFetchFailed]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.imageRefused]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.watermarkRemovalFailed]: { status: 502, type: "server_error" },
  [ErrorCode.taskTimeout]: { status: 504, type: "server_error" },
  [ErrorCode.retriesExhausted]: { status: 502, type: "server_error" },
  [ErrorCode.providerUnavailable]: { status: 503, type: "server_error" },
  [ErrorCode.upstreamRejected]: { status: 502, type: "server_error" },
  [ErrorCode.upstreamOutcomeUnknown]: { status: 502, type: "server_error" },
  [ErrorCode.upstreamFailed]: { status: 502, type: "server_error" },
  [ErrorCode.upstreamExpired]: { status: 502, type: "server_error" },
  [ErrorCode.upstreamBadContent]: { status: 502, type: "server_error" },
  [ErrorCode.contentPolicy]: { status: 400, type: "invalid_request_error" },
  [ErrorCode.storageUnavailable]: { status: 503, type: "server_error" },
};

/** Longest path parameter (an id) the router accepts; longer ones are 414. */
export const MAX_PARAM_LENGTH = 100;

export interface ErrorEnvelope {
  error: { message: string; type: string; code: string; param: string | null };
}

export const envelope = (e: ReelayError): ErrorEnvelope => ({
  error: { message: e.message, type: STATUS[e.code].type, code: e.code, param: e.param },
});

export function sendError(reply: FastifyReply, e: ReelayError): FastifyReply {
  const { status, headers } = errorAnswer(e);
  return reply.code(status).headers(headers).send(envelope(e));
}

/** An error's answer: its status, the headers beside the envelope (content type included). */
export function errorAnswer(e: ReelayError): { status: number; headers: Record<string, string> } {
  const { status } = STATUS[e.code];
  const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
  // OpenAI's clients retry 409 by default; ours mean "not in that state", which a retry won't change.
  if (status === 409 && !e.retryable) headers["x-should-retry"] = "false";
  if (e.retryAfterS !== null) headers["retry-after"] = String(Math.ceil(e.retryAfterS));
  return { status, headers };
}

/**
 * An error Node's HTTP parser met before any route ran (a slow body, oversized headers, bad
 * syntax), written straight to the socket in the envelope; the connection is then closed.
 */
export function answerClientError(err: { code?: string }, socket: Socket, requestTimeoutMs: number): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const e =
    err.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? errors.requestTimeout(requestTimeoutMs)
      : err.code === "HPE_HEADER_OVERFLOW"
        ? errors.headersTooLarge()
        : errors.invalidField("", "The request is not valid HTTP");
  const { status } = STATUS[e.code];
  const body = JSON.stringify(envelope(e));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Maps whatever was thrown (ours, Fastify's, or a bug) to a ReelayError; `bodyLimit`: the route's. */
export function toReelayError(e: unknown, bodyLimit?: number): ReelayError {
  if (isReelayError(e)) return e;
  const fe = e as { code?: string; statusCode?: number; message?: string };
  switch (fe.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errors.payloadTooLarge(bodyLimit ?? Number(/\d+/.exec(fe.message ?? "")?.[0] ?? 0));
    case "FST_ERR_BAD_URL":
      return errors.badUrl();
    case "FST_ERR_MAX_PARAM_LENGTH":
      return errors.uriTooLong(MAX_PARAM_LENGTH);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errors.unsupportedMediaType(undefined);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errors.invalidJson("the body is empty");
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return errors.invalidField("", "Content-Length does not match the body");
    default:
      break;
  }
  if (fe.statusCode !== undefined && fe.statusCode >= 400 && fe.statusCode < 500) {
    return errors.invalidField("", fe.message ?? "Bad request");
  }
  return errors.internal();
}
