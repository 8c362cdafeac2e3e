/** Request and response schemas of the webhook routes (the OpenAPI document is generated from them). */
import { z } from "zod";
import { WEBHOOK_EVENT_TYPES } from "../core/webhooks/webhooks.js";
import { queryInt } from "./schemas.js";

export const webhookCreateBodySchema = z.strictObject({
  url: z.string().meta({ description: "http(s) URL that receives the events (public addresses only)" }),
  events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional().meta({
    description:
      "Event types to receive; when omitted, the final ones (video.completed, video.failed, video.cancelled). video.progress only when listed",
  }),
});

export const webhookDeliveriesQuerySchema = z.strictObject({
  task_id: z.string().min(1).optional(),
  status: z.enum(["pending", "delivered", "failed"]).optional(),
  limit: queryInt(1, 500),
});

export const webhookEndpointSchema = z
  .object({
    id: z.string(),
    object: z.literal("webhook_endpoint"),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)),
    created_at: z.int().meta({ description: "Epoch milliseconds" }),
    status: z.enum(["enabled", "disabled"]).meta({
      description: "disabled: its receiver answered 410 Gone; no events are sent until it is enabled again",
    }),
    disabled_at: z.int().nullable().meta({ description: "Epoch milliseconds; null while enabled" }),
    disabled_reason: z.string().nullable(),
  })
  .meta({ id: "WebhookEndpoint" });

export const webhookEndpointCreatedSchema = webhookEndpointSchema
  .extend({
    secret: z.string().meta({
      description: "The Standard Webhooks signing secret (whsec_…). Shown only in this response.",
    }),
  })
  .meta({ id: "WebhookEndpointCreated" });

export const webhookEndpointListSchema = z
  .object({ object: z.literal("list"), data: z.array(webhookEndpointSchema) })
  .meta({ id: "WebhookEndpointList" });

export const webhookEndpointDeletedSchema = z
  .object({ id: z.string(), object: z.literal("webhook_endpoint.deleted"), deleted: z.literal(true) })
  .meta({ id: "WebhookEndpointDeleted" });

export const callbackSecretSchema = z
  .object({
    object: z.literal("webhook_callback_secret"),
    secret: z
      .string()
      .meta({ description: "Signs every callback_url delivery from now on. Shown only here." }),
    created_at: z.int().meta({ description: "Epoch milliseconds" }),
  })
  .meta({ id: "WebhookCallbackSecret" });

export const webhookDeliverySchema = z
  .object({
    id: z.string(),
    event_id: z.string().meta({ description: "The webhook-id header: the same on every attempt" }),
    event_type: z.string(),
    task_id: z.string(),
    owner_id: z.string(),
    endpoint_id: z.string().nullable().meta({ description: "null: the task's callback_url" }),
    url: z.string(),
    status: z.enum(["pending", "delivered", "failed"]),
    attempt_count: z.int(),
    next_attempt_at: z.int().nullable().meta({ description: "Epoch milliseconds, while pending" }),
    created_at: z.int(),
    updated_at: z.int(),
    attempts: z.array(
      z.object({
        attempt: z.int(),
        started_at: z.int().meta({ description: "Epoch milliseconds" }),
        duration_ms: z.int(),
        status_code: z
          .int()
          .nullable()
          .meta({ description: "null: no answer (network error, timeout, refused)" }),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: "WebhookDelivery" });

export const webhookDeliveryListSchema = z
  .object({ object: z.literal("list"), data: z.array(webhookDeliverySchema) })
  .meta({ id: "WebhookDeliveryList" });

export type WebhookEndpointView = z.infer<typeof webhookEndpointSchema>;
export type WebhookEndpointCreated = z.infer<typeof webhookEndpointCreatedSchema>;
export type WebhookEndpointList = z.infer<typeof webhookEndpointListSchema>;
export type WebhookEndpointDeleted = z.infer<typeof webhookEndpointDeletedSchema>;
export type CallbackSecret = z.infer<typeof callbackSecretSchema>;
export type WebhookDeliveryView = z.infer<typeof webhookDeliverySchema>;
export type WebhookDeliveryList = z.infer<typeof webhookDeliveryListSchema>;
