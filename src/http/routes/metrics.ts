/** `GET /metrics`: Prometheus text format, behind the admin token (it shows load and error rates). */
import type { Route } from "../route.js";

export const metrics: Route = {
  method: "GET",
  url: "/metrics",
  auth: "admin",
  summary: "Prometheus metrics",
  tag: "Operations",
  ok: { status: 200, contentType: "text/plain", description: "Prometheus text format" },
  errors: [],
  handler: (s) => async (_req, reply) => {
    const body = await s.metrics.registry.metrics();
    return reply.type(s.metrics.registry.contentType).send(body);
  },
};
