/**
 * Webhook deliveries for the operator: `GET /admin/webhooks/deliveries?task_id=&status=&limit=`
 * lists them with their attempts, newest first; `POST /admin/webhooks/deliveries/{id}/retry` gives
 * a failed one another attempt now.
 */
import { ErrorCode } from "../../core/errors.js";
import { parseInput } from "../../core/tasks/params.js";
import type { WebhookAttempt, WebhookDelivery } from "../../core/webhooks/ports.js";
import type { Route } from "../route.js";
import {
  type WebhookDeliveryList,
  type WebhookDeliveryView,
  webhookDeliveriesQuerySchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
} from "../webhook_schemas.js";

const deliveryView = (d: WebhookDelivery & { attempts: WebhookAttempt[] }): WebhookDeliveryView => ({
  id: d.id,
  event_id: d.eventId,
  event_type: d.eventType,
  task_id: d.taskId,
  owner_id: d.ownerId,
  endpoint_id: d.endpointId,
  url: d.url,
  status: d.status,
  attempt_count: d.attemptCount,
  next_attempt_at: d.nextAttemptAt,
  created_at: d.createdAt,
  updated_at: d.updatedAt,
  attempts: d.attempts.map((a) => ({
    attempt: a.attempt,
    started_at: a.startedAt,
    duration_ms: a.durationMs,
    status_code: a.statusCode,
    error: a.error,
  })),
});

const q = webhookDeliveriesQuerySchema.shape;

export const adminWebhookDeliveriesList: Route = {
  method: "GET",
  url: "/admin/webhooks/deliveries",
  auth: "admin",
  summary: "Webhook deliveries with their attempts, newest first",
  tag: "Admin",
  query: {
    task_id: { schema: q.task_id, description: "Only this task's deliveries" },
    status: { schema: q.status, description: "pending, delivered or failed" },
    limit: { schema: q.limit, description: "At most this many (default 50, up to 500)" },
  },
  ok: { status: 200, schema: webhookDeliveryListSchema, description: "Deliveries" },
  errors: [],
  handler:
    (s) =>
    async (req): Promise<WebhookDeliveryList> => {
      const q = parseInput(webhookDeliveriesQuerySchema, req.query);
      const rows = await s.webhooks.deliveries({ taskId: q.task_id, status: q.status, limit: q.limit ?? 50 });
      return { object: "list", data: rows.map(deliveryView) };
    },
};

export const adminWebhookDeliveryRetry: Route = {
  method: "POST",
  url: "/admin/webhooks/deliveries/:id/retry",
  auth: "admin",
  summary: "Give a failed webhook delivery another attempt now",
  tag: "Admin",
  ok: { status: 200, schema: webhookDeliverySchema, description: "The delivery, pending again" },
  errors: [ErrorCode.notFound, ErrorCode.webhookNotRetryable],
  handler:
    (s) =>
    async (req): Promise<WebhookDeliveryView> => {
      const { id } = req.params as { id: string };
      const d = await s.webhooks.retryDelivery(id);
      req.log.info({ deliveryId: id, taskId: d.taskId }, "webhook delivery retried by the admin");
      return deliveryView(d);
    },
};
