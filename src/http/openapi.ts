/**
 * The OpenAPI 3.1 document, generated from the zod schemas the routes validate requests with and
 * the response schemas in schemas.ts. Never written by hand: a test checks it lists every route.
 */
import { z } from "zod";
import { OPS } from "./openapi_routes.js";

/** The path patterns the document covers, in Fastify's notation (`:id`, `*`). */
export const documentedRoutes = (): string[] =>
  OPS.map(
    (o) =>
      `${o.method.toUpperCase()} ${o.path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === "key" ? "*" : `:${name}`))}`,
  );

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
  403: "Not allowed (or an invalid/expired signed link)",
  404: "Not found for this key",
  409: "Not in a state that allows this (sent with x-should-retry: false)",
  413: "Body too large",
  416: "Range not satisfiable",
  503: "Not ready",
};

export function openApiDocument(opts: { publicUrl: string; version: string }): object {
  const components = z.toJSONSchema(z.globalRegistry, {
    uri: (id) => `#/components/schemas/${id}`,
    io: "output",
  });
  const paths: Record<string, Record<string, object>> = {};
  for (const op of OPS) {
    const parameters = [
      ...(op.pathParams ?? []).map((name) => ({
        name,
        in: "path",
        required: true,
        schema: { type: "string" },
      })),
      ...Object.entries(op.query ?? {}).map(([name, q]) => ({
        name,
        in: "query",
        required: q.required ?? false,
        description: q.description,
        schema: schemaOf(q.schema),
      })),
    ];
    const content: Record<string, object> = {};
    if (op.body) content["application/json"] = { schema: schemaOf(op.body) };
    if (op.multipart) content["multipart/form-data"] = { schema: schemaOf(op.multipart) };
    const okContent = op.ok.schema
      ? { "application/json": { schema: schemaOf(op.ok.schema) } }
      : { [op.ok.contentType ?? "application/octet-stream"]: {} };
    const security = op.auth === "key" ? [{ apiKey: [] }] : op.auth === "admin" ? [{ adminToken: [] }] : [];
    paths[op.path] ??= {};
    const byPath = paths[op.path] as Record<string, object>;
    byPath[op.method] = {
      summary: op.summary,
      tags: [op.tag],
      operationId: `${op.method}${op.path.replace(/[{}]/g, "").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? "").toUpperCase())}`,
      security,
      ...(parameters.length ? { parameters } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      responses: {
        [String(op.ok.status)]: { description: op.ok.description, content: okContent },
        ...Object.fromEntries(
          op.errors.map((code) => [
            String(code),
            {
              description: ERROR_TEXT[code] ?? "Error",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
            },
          ]),
        ),
      },
    };
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
