/**
 * The OpenAPI 3.1 document, generated from the route declarations (routes.ts): the zod schemas
 * the routes validate requests with, the response schemas in schemas.ts, and every status each
 * route can answer, with the error codes behind it. Never written by hand.
 */
import { z } from "zod";
import type { ErrorCode } from "../core/errors.js";
import { STATUS } from "./errors.js";
import { errorsOf, openApiPath, type PlainAnswer, pathParams, type Route } from "./route.js";

/** A named schema (schemas.ts) by reference; any other inline, as the request sees it. */
const schemaOf = (s: z.ZodType): object => {
  const id = z.globalRegistry.get(s)?.id;
  if (id) return { $ref: `#/components/schemas/${id}` };
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
};

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request: `error.param` names the field",
  401: "Missing or unknown key",
  402: "Not enough credits",
  403: "Not allowed (or an invalid/expired signed link)",
  404: "Not found for this key",
  408: "The request was not sent in time",
  409: "Not in a state that allows this (sent with x-should-retry: false)",
  413: "Body too large",
  414: "A path parameter too long",
  415: "Unsupported Content-Type",
  416: "Range not satisfiable",
  429: "Too many requests, or too many tasks in flight (see Retry-After)",
  431: "Headers too large",
  500: "Server fault",
  503: "Busy or storage unavailable (see Retry-After)",
};

const plain = (a: PlainAnswer): object => ({
  description: a.description,
  content: a.schema
    ? { "application/json": { schema: schemaOf(a.schema) } }
    : { [a.contentType ?? "application/octet-stream"]: {} },
});

/** Every answer of a route by status: its plain answers, and its error codes grouped by status. */
export function responsesOf(r: Route): Record<string, object> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorsOf(r)) {
    const { status } = STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const plainOf = new Map([r.ok, ...(r.also ?? [])].map((a) => [a.status, a]));
  const responses: Record<string, object> = {};
  for (const [status, a] of plainOf) responses[String(status)] = plain(a);
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    // The envelope, with `error.code` narrowed to the codes this status carries here.
    const error = {
      allOf: [
        { $ref: "#/components/schemas/Error" },
        { type: "object", properties: { error: { type: "object", properties: { code: { enum: codes } } } } },
      ],
    };
    // A plain answer of the same status (readiness's 503) makes the body one of two shapes.
    const given = plainOf.get(status);
    responses[String(status)] = {
      description: `${given ? `${given.description}; or ` : ""}${ERROR_TEXT[status] ?? "Error"}. Codes: ${codes.join(", ")}`,
      "x-error-codes": codes,
      content: {
        "application/json": { schema: given?.schema ? { oneOf: [error, schemaOf(given.schema)] } : error },
      },
    };
  }
  return responses;
}

function operation(r: Route): object {
  const parameters = [
    ...pathParams(r.url).map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
    ...Object.entries(r.query ?? {}).map(([name, q]) => ({
      name,
      in: "query",
      required: q.required ?? false,
      description: q.description,
      schema: schemaOf(q.schema),
    })),
  ];
  const content: Record<string, object> = {};
  if (r.body) content["application/json"] = { schema: schemaOf(r.body) };
  if (r.multipart) content["multipart/form-data"] = { schema: schemaOf(r.multipart) };
  const security = r.auth === "key" ? [{ apiKey: [] }] : r.auth === "admin" ? [{ adminToken: [] }] : [];
  const path = openApiPath(r.url);
  const method = r.method.toLowerCase();
  return {
    summary: r.summary,
    tags: [r.tag],
    operationId: `${method}${path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
    security,
    ...(parameters.length ? { parameters } : {}),
    ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
    responses: responsesOf(r),
  };
}

/**
 * The document of `routes`, built on the first call and kept: a process that is never asked for it
 * (most are not) does not hold it, nor pay for building it at start (≈ 2 MiB of heap).
 */
export function lazyOpenApiDocument(
  routes: readonly Route[],
  opts: { publicUrl: string; version: string },
): () => object {
  let document: object | undefined;
  return () => {
    document ??= openApiDocument(routes, opts);
    return document;
  };
}

export function openApiDocument(
  routes: readonly Route[],
  opts: { publicUrl: string; version: string },
): object {
  const components = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: "output",
  });
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = openApiPath(r.url);
    paths[path] = { ...paths[path], [r.method.toLowerCase()]: operation(r) };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Reelay",
      version: opts.version,
      description:
        "Self-hostable video-generation gateway: the unified video API (`/v1/video/*`) and an OpenAI-compatible Videos API (`/v1/videos`).",
    },
    servers: [{ url: opts.publicUrl }],
    tags: [
      { name: "Unified API" },
      { name: "OpenAI-compatible API" },
      { name: "Results" },
      { name: "Webhooks" },
      { name: "Providers" },
      { name: "Admin" },
      { name: "Operations" },
      { name: "Web UI" },
    ],
    paths,
    components: {
      schemas: components.schemas,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key from POST /admin/keys" },
        adminToken: {
          type: "http",
          scheme: "bearer",
          description: "REELAY_ADMIN_TOKEN (or the generated admin-token file)",
        },
      },
    },
  };
}
