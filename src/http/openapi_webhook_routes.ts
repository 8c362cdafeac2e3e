/** The documented webhook operations. */
import { idParam, type Op } from "./openapi_op.js";
import {
  callbackSecretSchema,
  webhookCreateBodySchema,
  webhookDeliveriesQuerySchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
  webhookEndpointCreatedSchema,
  webhookEndpointDeletedSchema,
  webhookEndpointListSchema,
  webhookEndpointSchema,
} from "./webhook_schemas.js";

const q = webhookDeliveriesQuerySchema.shape;

export const WEBHOOK_OPS: Op[] = [
  {
    method: "post",
    path: "/v1/webhooks",
    summary: "Register a webhook endpoint for your task events (its signing secret is returned once)",
    tag: "Webhooks",
    auth: "key",
    body: webhookCreateBodySchema,
    ok: { status: 201, schema: webhookEndpointCreatedSchema, description: "The endpoint and its secret" },
    errors: [400, 401],
  },
  {
    method: "get",
    path: "/v1/webhooks",
    summary: "Your webhook endpoints (never their secrets)",
    tag: "Webhooks",
    auth: "key",
    ok: { status: 200, schema: webhookEndpointListSchema, description: "Endpoints, oldest first" },
    errors: [401],
  },
  {
    method: "delete",
    path: "/v1/webhooks/{id}",
    summary: "Delete a webhook endpoint (its pending deliveries stop)",
    tag: "Webhooks",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: webhookEndpointDeletedSchema, description: "Deleted" },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/v1/webhooks/{id}/enable",
    summary:
      "Turn a disabled webhook endpoint back on (endpoints are disabled when their receiver answers 410 Gone)",
    tag: "Webhooks",
    auth: "key",
    pathParams: idParam,
    ok: { status: 200, schema: webhookEndpointSchema, description: "The endpoint, enabled" },
    errors: [401, 404],
  },
  {
    method: "post",
    path: "/v1/webhooks/secret",
    summary: "Create or replace the secret that signs callback_url deliveries (returned once)",
    tag: "Webhooks",
    auth: "key",
    ok: { status: 201, schema: callbackSecretSchema, description: "The new secret" },
    errors: [401],
  },
  {
    method: "get",
    path: "/admin/webhooks/deliveries",
    summary: "Webhook deliveries with their attempts, newest first",
    tag: "Admin",
    auth: "admin",
    query: {
      task_id: { schema: q.task_id, description: "Only this task's deliveries" },
      status: { schema: q.status, description: "pending, delivered or failed" },
      limit: { schema: q.limit, description: "At most this many (default 50, up to 500)" },
    },
    ok: { status: 200, schema: webhookDeliveryListSchema, description: "Deliveries" },
    errors: [400, 401, 403],
  },
  {
    method: "post",
    path: "/admin/webhooks/deliveries/{id}/retry",
    summary: "Give a failed webhook delivery another attempt now",
    tag: "Admin",
    auth: "admin",
    pathParams: idParam,
    ok: { status: 200, schema: webhookDeliverySchema, description: "The delivery, pending again" },
    errors: [401, 403, 404, 409],
  },
];
