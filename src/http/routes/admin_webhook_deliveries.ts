/** `GET /admin/webhooks/deliveries?task_id=&status=&limit=`: webhook deliveries with their attempts, newest first. */
import type { FastifyInstance } from "fastify";
import { parseInput } from "../../core/params.js";
import { requireAdmin } from "../auth.js";
import type { AppServices } from "../services.js";
import { type WebhookDeliveryList, webhookDeliveriesQuerySchema } from "../webhook_schemas.js";

export function adminWebhookDeliveries(app: FastifyInstance, s: AppServices): void {
  app.get(
    "/admin/webhooks/deliveries",
    { onRequest: requireAdmin(s.adminTokenHash, s.keys) },
    async (req): Promise<WebhookDeliveryList> => {
      const q = parseInput(webhookDeliveriesQuerySchema, req.query);
      const rows = await s.webhooks.deliveries({ taskId: q.task_id, status: q.status, limit: q.limit ?? 50 });
      return {
        object: "list",
        data: rows.map((d) => ({
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
        })),
      };
    },
  );
}
