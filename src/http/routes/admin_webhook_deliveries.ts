/**
 * Webhook deliveries for the operator: `GET /admin/webhooks/deliveries?task_id=&status=&limit=`
 * lists them with their attempts, newest first; `POST /admin/webhooks/deliveries/{id}/retry` gives
 * a failed one another attempt now.
 */
import type { FastifyInstance } from "fastify";
import { parseInput } from "../../core/params.js";
import type { WebhookAttempt, WebhookDelivery } from "../../core/webhook_ports.js";
import { requireAdmin } from "../auth.js";
import type { AppServices } from "../services.js";
import {
  type WebhookDeliveryList,
  type WebhookDeliveryView,
  webhookDeliveriesQuerySchema,
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

export function adminWebhookDeliveries(app: FastifyInstance, s: AppServices): void {
  const onRequest = requireAdmin(s.adminTokenHash, s.keys, s.clock);

  app.get("/admin/webhooks/deliveries", { onRequest }, async (req): Promise<WebhookDeliveryList> => {
    const q = parseInput(webhookDeliveriesQuerySchema, req.query);
    const rows = await s.webhooks.deliveries({ taskId: q.task_id, status: q.status, limit: q.limit ?? 50 });
    return { object: "list", data: rows.map(deliveryView) };
  });

  app.post(
    "/admin/webhooks/deliveries/:id/retry",
    { onRequest },
    async (req): Promise<WebhookDeliveryView> => {
      const { id } = req.params as { id: string };
      const d = await s.webhooks.retryDelivery(id);
      req.log.info({ deliveryId: id, taskId: d.taskId }, "webhook delivery retried by the admin");
      return deliveryView(d);
    },
  );
}
