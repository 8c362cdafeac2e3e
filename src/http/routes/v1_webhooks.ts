/**
 * Webhook endpoints of the caller's owner: `POST /v1/webhooks` registers one (its signing secret is
 * in that response only), `GET /v1/webhooks` lists them (never their secrets), `DELETE
 * /v1/webhooks/{id}` removes one, `POST /v1/webhooks/{id}/enable` turns one back on after its
 * receiver answered 410 Gone (which disables it). `POST /v1/webhooks/secret` makes (or replaces) the secret that
 * signs `callback_url` deliveries, returned once.
 */
import { ErrorCode } from "../../core/errors.js";
import { parseInput } from "../../core/tasks/params.js";
import type { WebhookEndpoint } from "../../core/webhooks/ports.js";
import { FINAL_EVENT_TYPES, type WebhookEventType } from "../../core/webhooks/webhooks.js";
import { principalOf } from "../auth.js";
import type { Route } from "../route.js";
import {
  type CallbackSecret,
  callbackSecretSchema,
  type WebhookEndpointCreated,
  type WebhookEndpointDeleted,
  type WebhookEndpointList,
  type WebhookEndpointView,
  webhookCreateBodySchema,
  webhookEndpointCreatedSchema,
  webhookEndpointDeletedSchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
} from "../webhook_schemas.js";

export const webhookEndpointView = (e: WebhookEndpoint): WebhookEndpointView => ({
  id: e.id,
  object: "webhook_endpoint",
  url: e.url,
  events: (e.events ?? [...FINAL_EVENT_TYPES]) as WebhookEventType[],
  created_at: e.createdAt,
  status: e.disabledAt === null ? "enabled" : "disabled",
  disabled_at: e.disabledAt,
  disabled_reason: e.disabledReason,
});

export const v1WebhooksCreate: Route = {
  method: "POST",
  url: "/v1/webhooks",
  auth: "key",
  summary: "Register a webhook endpoint for your task events (its signing secret is returned once)",
  tag: "Webhooks",
  body: webhookCreateBodySchema,
  ok: { status: 201, schema: webhookEndpointCreatedSchema, description: "The endpoint and its secret" },
  errors: [],
  handler:
    (s) =>
    async (req, reply): Promise<WebhookEndpointCreated> => {
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
    },
};

export const v1WebhooksList: Route = {
  method: "GET",
  url: "/v1/webhooks",
  auth: "key",
  summary: "Your webhook endpoints (never their secrets)",
  tag: "Webhooks",
  ok: { status: 200, schema: webhookEndpointListSchema, description: "Endpoints, oldest first" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<WebhookEndpointList> => {
      const endpoints = await s.webhooks.list(principalOf(req).ownerId);
      return { object: "list", data: endpoints.map(webhookEndpointView) };
    },
};

export const v1WebhooksDelete: Route = {
  method: "DELETE",
  url: "/v1/webhooks/:id",
  auth: "key",
  summary: "Delete a webhook endpoint (its pending deliveries stop)",
  tag: "Webhooks",
  ok: { status: 200, schema: webhookEndpointDeletedSchema, description: "Deleted" },
  errors: [ErrorCode.notFound],
  handler:
    (s) =>
    async (req): Promise<WebhookEndpointDeleted> => {
      const { id } = req.params as { id: string };
      await s.webhooks.remove(principalOf(req).ownerId, id);
      req.log.info({ endpointId: id }, "webhook endpoint deleted");
      return { id, object: "webhook_endpoint.deleted", deleted: true };
    },
};

export const v1WebhooksEnable: Route = {
  method: "POST",
  url: "/v1/webhooks/:id/enable",
  auth: "key",
  summary:
    "Turn a disabled webhook endpoint back on (endpoints are disabled when their receiver answers 410 Gone)",
  tag: "Webhooks",
  ok: { status: 200, schema: webhookEndpointSchema, description: "The endpoint, enabled" },
  errors: [ErrorCode.notFound],
  handler:
    (s) =>
    async (req): Promise<WebhookEndpointView> => {
      const { id } = req.params as { id: string };
      const endpoint = await s.webhooks.enable(principalOf(req).ownerId, id);
      req.log.info({ endpointId: id }, "webhook endpoint enabled");
      return webhookEndpointView(endpoint);
    },
};

export const v1WebhooksSecret: Route = {
  method: "POST",
  url: "/v1/webhooks/secret",
  auth: "key",
  summary: "Create or replace the secret that signs callback_url deliveries (returned once)",
  tag: "Webhooks",
  ok: { status: 201, schema: callbackSecretSchema, description: "The new secret" },
  errors: [],
  handler:
    (s) =>
    async (req, reply): Promise<CallbackSecret> => {
      const { secret, createdAt } = await s.webhooks.rotateCallbackSecret(principalOf(req).ownerId);
      req.log.info({ ownerId: principalOf(req).ownerId }, "callback secret replaced");
      reply.code(201);
      return { object: "webhook_callback_secret", secret, created_at: createdAt };
    },
};
