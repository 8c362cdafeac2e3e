/**
 * The web UI: `GET /` (the page) and `GET /ui/*` (its scripts and styles), plain ES modules from
 * src/web served as they are. The page is a client of the public API like any other: it holds the
 * caller's key in the browser and sends it as a Bearer token.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import type { AppServices } from "../services.js";

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

export function webUi(app: FastifyInstance, s: AppServices): void {
  const csp = contentSecurityPolicy(s.publicUrl);
  app.register(async (scope) => {
    scope.addHook("onSend", async (_req, reply) => {
      if (String(reply.getHeader("content-type") ?? "").startsWith("application/json")) return;
      reply.header("content-security-policy", csp);
      reply.header("x-content-type-options", "nosniff");
      // Signed result links are credentials: never hand them to another site as a Referer.
      reply.header("referrer-policy", "no-referrer");
    });
    await scope.register(fastifyStatic, { root: WEB_ROOT, prefix: "/ui/", index: false });
    scope.get("/", (_req, reply) => reply.sendFile("index.html"));
  });
}
