/**
 * Webhook endpoints of the caller's owner: `POST /v1/webhooks` registers one (its signing secret is
 * in that response only), `GET /v1/webhooks` lists them (never their secrets), `DELETE
 * /v1/webhooks/{id}` removes one, `POST /v1/webhooks/{id}/enable` turns one back on after its
 * receiver answered 410 Gone (which disables it). `POST /v1/webhooks/secret` makes (or replaces) the secret that
 * signs `callback_url` deliveries, returned once.
 */
import type { FastifyInstance } from "fastify";
import { parseInput } from "../../core/params.js";
import type { WebhookEndpoint } from "../../core/webhook_ports.js";
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from "../../core/webhooks.js";
import { principalOf, requireKey } from "../auth.js";
import type { AppServices } from "../services.js";
import {
  type CallbackSecret,
  type WebhookEndpointCreated,
  type WebhookEndpointDeleted,
  type WebhookEndpointList,
  type WebhookEndpointView,
  webhookCreateBodySchema,
} from "../webhook_schemas.js";

export const webhookEndpointView = (e: WebhookEndpoint): WebhookEndpointView => ({
  id: e.id,
  object: "webhook_endpoint",
  url: e.url,
  events: (e.events ?? [...WEBHOOK_EVENT_TYPES]) as WebhookEventType[],
  created_at: e.createdAt,
  status: e.disabledAt === null ? "enabled" : "disabled",
  disabled_at: e.disabledAt,
  disabled_reason: e.disabledReason,
});

export function v1Webhooks(app: FastifyInstance, s: AppServices): void {
  const onRequest = requireKey(s);

  app.post("/v1/webhooks", { onRequest }, async (req, reply): Promise<WebhookEndpointCreated> => {
    const principal = principalOf(req);
    const b = parseInput(webhookCreateBodySchema, req.body ?? {});
    const endpoint = await s.webhooks.register({
      ownerId: principal.ownerId,
      keyId: principal.keyId,
      url: b.url,
      events: b.events ?? null,
    });
    req.log.info({ endpointId: endpoint.id, ownerId: principal.ownerId }, "webhook endpoint registered");
    reply.code(201);
    return { ...webhookEndpointView(endpoint), secret: endpoint.secret };
  });

  app.get("/v1/webhooks", { onRequest }, async (req): Promise<WebhookEndpointList> => {
    const endpoints = await s.webhooks.list(principalOf(req).ownerId);
    return { object: "list", data: endpoints.map(webhookEndpointView) };
  });

  app.delete("/v1/webhooks/:id", { onRequest }, async (req): Promise<WebhookEndpointDeleted> => {
    const { id } = req.params as { id: string };
    await s.webhooks.remove(principalOf(req).ownerId, id);
    req.log.info({ endpointId: id }, "webhook endpoint deleted");
    return { id, object: "webhook_endpoint.deleted", deleted: true };
  });

  app.post("/v1/webhooks/:id/enable", { onRequest }, async (req): Promise<WebhookEndpointView> => {
    const { id } = req.params as { id: string };
    const endpoint = await s.webhooks.enable(principalOf(req).ownerId, id);
    req.log.info({ endpointId: id }, "webhook endpoint enabled");
    return webhookEndpointView(endpoint);
  });

  app.post("/v1/webhooks/secret", { onRequest }, async (req, reply): Promise<CallbackSecret> => {
    const { secret, createdAt } = await s.webhooks.rotateCallbackSecret(principalOf(req).ownerId);
    req.log.info({ ownerId: principalOf(req).ownerId }, "callback secret replaced");
    reply.code(201);
    return { object: "webhook_callback_secret", secret, created_at: createdAt };
  });
}
