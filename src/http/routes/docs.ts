/**
 * `GET /openapi.json` (the generated OpenAPI 3.1 document) and `GET /docs` (Swagger UI rendering
 * it, served from the npm package: no outside host is needed to read the docs).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { openApiDocument } from "../openapi.js";
import type { AppServices } from "../services.js";

export function docs(app: FastifyInstance, s: AppServices): void {
  const document = openApiDocument({ publicUrl: s.publicUrl, version: s.version });
  app.get("/openapi.json", async () => document);
  app.register(async (scope) => {
    await scope.register(swagger, { mode: "static", specification: { document: document as never } });
    await scope.register(swaggerUi, { routePrefix: "/docs", uiConfig: { deepLinking: true } });
  });
}
