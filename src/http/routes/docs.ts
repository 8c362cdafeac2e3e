/**
 * `GET /openapi.json` (the generated OpenAPI 3.1 document) and `GET /docs` (Swagger UI rendering
 * it, served from the npm package: no outside host is needed to read the docs).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import type { Route } from "../route.js";

export const openApiJson: Route = {
  method: "GET",
  url: "/openapi.json",
  auth: "none",
  summary: "This document",
  tag: "Operations",
  ok: { status: 200, description: "OpenAPI 3.1" },
  errors: [],
  handler:
    (_s, { document }) =>
    async () =>
      document(),
};

/**
 * The routes @fastify/swagger-ui registers for `/docs`: public, not JSON, and not in the document
 * they render. Listed here so the authz table still holds them; registerDocsUi adds them.
 */
export const DOCS_UI_ROUTES: readonly { method: "GET"; url: string; sample?: string }[] = [
  { method: "GET", url: "/docs" },
  { method: "GET", url: "/docs/json" },
  { method: "GET", url: "/docs/yaml" },
  { method: "GET", url: "/docs/static/index.html" },
  { method: "GET", url: "/docs/static/swagger-initializer.js" },
  { method: "GET", url: "/docs/static/*", sample: "/docs/static/swagger-ui.css" },
];

/**
 * Swagger UI under /docs, rendering `document`, in a scope of its own. @fastify/swagger holds the
 * object it is given from the start; that object is filled with the document by the first request
 * under /docs, before any handler reads it, so an idle process never builds the document.
 */
export function registerDocsUi(app: FastifyInstance, document: () => object): void {
  app.register(async (scope) => {
    const shown: Record<string, unknown> = {};
    let filled = false;
    scope.addHook("onRequest", (_req, _reply, done) => {
      if (!filled) {
        Object.assign(shown, document());
        filled = true;
      }
      done();
    });
    await scope.register(swagger, { mode: "static", specification: { document: shown as never } });
    await scope.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } });
  });
}
