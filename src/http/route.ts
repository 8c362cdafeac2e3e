/**
 * One declaration per route: method, path, who may call it, its schemas, what it answers and its
 * handler. routes.ts lists every declaration; the router, the OpenAPI document and the authz and fuzz
 * tables are all read from that one list.
 */
import type { RouteHandlerMethod } from "fastify";
import { z } from "zod";
import { ErrorCode } from "../core/errors.js";
import type { AppServices } from "./services.js";

/**
 * Who may call a route: anyone (`none`), an API key (`key`), the admin token (`admin`), or anyone
 * holding a signed link (`signed`: the query string is the credential).
 */
export type RouteAuth = "none" | "key" | "admin" | "signed";

export interface QueryParam {
  readonly schema: z.ZodType;
  readonly required?: boolean;
  readonly description: string;
}

/** A successful answer, or an answer that is not the error envelope (readiness's 503). */
export interface PlainAnswer {
  readonly status: number;
  readonly description: string;
  readonly schema?: z.ZodType;
  /** When the body is not JSON (default application/octet-stream when no schema is given). */
  readonly contentType?: string;
}

/** What a handler factory may use besides the services: the OpenAPI document, built once on first use. */
export interface RouteContext {
  readonly document: () => object;
}

export interface Route {
  readonly method: "GET" | "POST" | "DELETE";
  /** Fastify's notation: `:id` for a parameter, `*` for the rest of the path. */
  readonly url: string;
  readonly auth: RouteAuth;
  readonly summary: string;
  /** The OpenAPI tag (the section of the docs it is listed under). */
  readonly tag: string;
  /** The JSON body, as validated by the handler. */
  readonly body?: z.ZodType;
  /** Also accepted as multipart/form-data (bracketed names for nested fields). */
  readonly multipart?: z.ZodType;
  readonly query?: Readonly<Record<string, QueryParam>>;
  readonly ok: PlainAnswer;
  /** Other answers that are not errors, or not in the envelope (206 for a Range). */
  readonly also?: readonly PlainAnswer[];
  /**
   * Error codes the handler can answer. Those every route of its kind answers (a key route's
   * 401 and 429, a body's 413…) are added by `answersOf`: list only the route's own.
   */
  readonly errors: readonly ErrorCode[];
  /** The body limit, where it is not JSON_BODY_LIMIT. */
  readonly bodyLimit?: number;
  /**
   * Where it is registered: beside the others (default), in the multipart scope (`form`: the
   * official OpenAI client's bodies), in the web UI's scope (`web`: its headers and files), or
   * where bodies stay bytes (`raw`: provider callbacks, whose signatures cover the exact bytes).
   */
  readonly scope?: "form" | "web" | "raw";
  /** Builds the handler once, at registration. Absent: `servedBy` registers the route. */
  readonly handler?: (s: AppServices, ctx: RouteContext) => RouteHandlerMethod;
  /** The plugin that registers the route itself (a static file server), when there is no handler. */
  readonly servedBy?: string;
}

/** Path parameter names of a route (`*` is the rest of the path, named `key` in the docs). */
export const pathParams = (url: string): string[] =>
  [...url.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? "key");

/** A route's path in OpenAPI's notation (`{id}`). */
export const openApiPath = (url: string): string => url.replace(/:(\w+)/g, "{$1}").replace("*", "{key}");

/** Every query parameter of a strict object schema, each described by its name. */
export const queryOf = (schema: z.ZodObject): Record<string, QueryParam> =>
  Object.fromEntries(
    Object.entries(schema.shape).map(([k, s]) => [k, { schema: s as z.ZodType, description: k }]),
  );

/** A file part of a multipart body. */
export const file = z.string().meta({ format: "binary" });

/** What any route can answer before or around its handler: a slow or oversized request, a fault. */
const ANY_ROUTE: readonly ErrorCode[] = [
  ErrorCode.invalidRequest,
  ErrorCode.requestTimeout,
  ErrorCode.headersTooLarge,
  ErrorCode.internal,
];
/** A request body, which every method but GET may carry, is parsed and admitted by size. */
const WITH_BODY: readonly ErrorCode[] = [
  ErrorCode.invalidJson,
  ErrorCode.unsupportedMediaType,
  ErrorCode.payloadTooLarge,
  ErrorCode.serverBusy,
];
const BY_AUTH: Record<RouteAuth, readonly ErrorCode[]> = {
  none: [],
  key: [ErrorCode.missingApiKey, ErrorCode.invalidApiKey, ErrorCode.rateLimited],
  admin: [ErrorCode.invalidAdminToken, ErrorCode.invalidApiKey, ErrorCode.adminOnly],
  signed: [ErrorCode.linkInvalid, ErrorCode.linkExpired],
};

/** Every error code a route can answer: its own, and those its auth, method and path imply. */
export function errorsOf(r: Route): ErrorCode[] {
  const implied = [
    ...ANY_ROUTE,
    ...BY_AUTH[r.auth],
    ...(r.method === "GET" ? [] : WITH_BODY),
    ...(pathParams(r.url).length > 0 ? [ErrorCode.uriTooLong] : []),
  ];
  return [...new Set([...implied, ...r.errors])];
}

/** `GET /v1/videos/:id`: how tests and logs name a route. */
export const routeKey = (r: { method: string; url: string }): string => `${r.method} ${r.url}`;

/** What a route that creates a task can answer beyond a bad request: the key's and owner's limits. */
export const CREATE_ERRORS: readonly ErrorCode[] = [
  ErrorCode.unsupportedParameter,
  ErrorCode.imageRefused,
  ErrorCode.modelNotAllowed,
  ErrorCode.insufficientCredits,
  ErrorCode.tooManyActiveTasks,
  ErrorCode.idempotencyConflict,
  ErrorCode.storageUnavailable,
];

/** What a route that makes a task from an existing video (a remix, an edit) can answer. */
export const FROM_VIDEO_ERRORS: readonly ErrorCode[] = [
  ...CREATE_ERRORS,
  ErrorCode.taskNotFound,
  ErrorCode.videoPrivate,
  ErrorCode.videoNotReady,
];
