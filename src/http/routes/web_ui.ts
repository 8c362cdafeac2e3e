/**
 * The web UI: `GET /` (the page) and `GET /ui/*` (its scripts and styles), plain ES modules from
 * src/web served as they are. The page is a client of the public API like any other: it holds the
 * caller's key in the browser and sends it as a Bearer token.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { ErrorCode } from "../../core/errors.js";
import type { Route } from "../route.js";

// Resolved from the repository root, so the same path holds for src/ (tsx) and dist/ (tsc output,
// which does not copy the static files).
const WEB_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "src", "web");

/**
 * Everything the page loads comes from this server: no CDN, no outside fonts. Result links are
 * absolute under the public URL, which may be another origin than the one the browser used.
 */
function contentSecurityPolicy(publicUrl: string): string {
  const results = new URL(publicUrl).origin;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    `img-src 'self' data: blob: ${results}`,
    `media-src 'self' blob: ${results}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** The static file server answers a conditional request for an unchanged file so. */
const NOT_MODIFIED = { status: 304, description: "Not modified (ETag or Last-Modified matched)" };

export const webUiPage: Route = {
  method: "GET",
  url: "/",
  auth: "none",
  summary: "The web UI (sign in with an API key or the admin token)",
  tag: "Web UI",
  ok: { status: 200, contentType: "text/html", description: "The page" },
  also: [NOT_MODIFIED],
  errors: [],
  scope: "web",
  handler: () => (_req, reply) => reply.sendFile("index.html"),
};

export const webUiFiles: Route = {
  method: "GET",
  url: "/ui/*",
  auth: "none",
  summary: "The web UI's scripts and styles",
  tag: "Web UI",
  ok: { status: 200, contentType: "text/javascript", description: "A static file" },
  also: [NOT_MODIFIED],
  errors: [ErrorCode.notFound],
  scope: "web",
  servedBy: "@fastify/static (registerWebUi)",
};

/**
 * The web UI's scope: its security headers and the static file server (which registers
 * `GET /ui/*`); `routes` are the scope's own declared handlers.
 */
export function registerWebUi(
  app: FastifyInstance,
  publicUrl: string,
  routes: (scope: FastifyInstance) => void,
): void {
  const csp = contentSecurityPolicy(publicUrl);
  app.register(async (scope) => {
    scope.addHook("onSend", async (_req, reply) => {
      if (String(reply.getHeader("content-type") ?? "").startsWith("application/json")) return;
      reply.header("content-security-policy", csp);
      reply.header("x-content-type-options", "nosniff");
      // Signed result links are credentials: never hand them to another site as a Referer.
      reply.header("referrer-policy", "no-referrer");
    });
    await scope.register(fastifyStatic, { root: WEB_ROOT, prefix: "/ui/", index: false });
    routes(scope);
  });
}
