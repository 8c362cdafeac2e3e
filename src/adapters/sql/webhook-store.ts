/**
 * Webhook endpoints, events, deliveries and attempts, in plain Kysely so the PostgreSQL store can
 * share the queries. The (task, type) unique key on events is what makes an event happen once.
 */
import type { Kysely, Selectable } from "kysely";
import type {
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookStore,
} from "../../core/webhooks/ports.js";
import { SEALED_LIKE, type SecretBox } from "../crypto/secret-box.js";
import { dialectOf } from "./dialect.js";
import { RowCache } from "./row_cache.js";
import {
  connOf,
  type DB,
  type WebhookAttemptsTable,
  type WebhookDeliveriesTable,
  type WebhookEndpointsTable,
} from "./schema.js";

const toDelivery = (r: Selectable<WebhookDeliveriesTable>): WebhookDelivery => ({
  id: r.id,
  eventId: r.event_id,
  eventType: r.event_type,
  taskId: r.task_id,
  ownerId: r.owner_id,
  endpointId: r.endpoint_id,
  url: r.url,
  status: r.status as WebhookDeliveryStatus,
  attemptCount: r.attempt_count,
  nextAttemptAt: r.next_attempt_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const toAttempt = (r: Selectable<WebhookAttemptsTable>): WebhookAttempt => ({
  deliveryId: r.delivery_id,
  attempt: r.attempt,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  statusCode: r.status_code,
  error: r.error,
});

/**
 * `box` encrypts the signing secrets at rest (endpoint secrets bound to the endpoint id, callback
 * secrets to the owner id). A secret that no longer opens (the server's key changed) reads as ""
 * so listings still work; the delivery runner gives such a delivery up, saying why.
 */
export function createSqlWebhookStore(db: Kysely<DB>, opts: { box: SecretBox }): WebhookStore {
  const { box } = opts;
  // Every task that ends reads its owner's enabled endpoints (a statement, and a decryption per
  // endpoint): cached per owner only where this process is the one writer (row_cache.ts). Every
  // write to `webhook_endpoints` goes through this store, which empties the cache then.
  const cache = dialectOf(db).oneWriter ? new RowCache<readonly WebhookEndpoint[]>(2000) : undefined;
  // What each sealed secret is bound to: its row.
  const endpointCtx = (id: string): string => `webhook_endpoint:${id}`;
  const callbackCtx = (ownerId: string): string => `webhook_callback:${ownerId}`;
  const openOrEmpty = (stored: string, context: string): string => {
    try {
      return box.open(stored, context);
    } catch {
      return "";
    }
  };
  const toEndpoint = (r: Selectable<WebhookEndpointsTable>): WebhookEndpoint => ({
    id: r.id,
    ownerId: r.owner_id,
    keyId: r.key_id,
    url: r.url,
    events: r.events === null ? null : (JSON.parse(r.events) as string[]),
    secret: openOrEmpty(r.secret, endpointCtx(r.id)),
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
    disabledReason: r.disabled_reason,
  });
  return {
    async insertEndpoint(e) {
      await db
        .insertInto("webhook_endpoints")
        .values({
          id: e.id,
          owner_id: e.ownerId,
          key_id: e.keyId,
          url: e.url,
          events: e.events === null ? null : JSON.stringify(e.events),
          secret: box.seal(e.secret, endpointCtx(e.id)),
          created_at: e.createdAt,
          disabled_at: e.disabledAt,
          disabled_reason: e.disabledReason,
        })
        .execute();
      cache?.clear(undefined);
    },

    async getEndpoint(id, tx) {
      const r = await connOf(db, tx)
        .selectFrom("webhook_endpoints")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return r && toEndpoint(r);
    },

    async listEndpoints(ownerId) {
      const rows = await db
        .selectFrom("webhook_endpoints")
        .selectAll()
        .where("owner_id", "=", ownerId)
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toEndpoint);
    },

    async deleteEndpoint(ownerId, id) {
      const r = await db
        .deleteFrom("webhook_endpoints")
        .where("id", "=", id)
        .where("owner_id", "=", ownerId)
        .executeTakeFirst();
      cache?.clear(undefined);
      return r.numDeletedRows > 0n;
    },

    async setEndpointDisabled(id, disabled, { ownerId, tx }) {
      let q = connOf(db, tx)
        .updateTable("webhook_endpoints")
        .set({ disabled_at: disabled?.at ?? null, disabled_reason: disabled?.reason ?? null })
        .where("id", "=", id);
      if (ownerId !== undefined) q = q.where("owner_id", "=", ownerId);
      try {
        const r = await q.executeTakeFirst();
        return r.numUpdatedRows > 0n;
      } finally {
        cache?.clear(tx);
      }
    },

    async endpointsFor(ownerId, type, tx) {
      const read = async () =>
        (
          await connOf(db, tx)
            .selectFrom("webhook_endpoints")
            .selectAll()
            .where("owner_id", "=", ownerId)
            .where("disabled_at", "is", null)
            .orderBy("created_at")
            .orderBy("id")
            .execute()
        ).map(toEndpoint);
      const enabled = (cache ? await cache.read(ownerId, read) : await read()) ?? [];
      // A handful of endpoints per owner: filter the event list here rather than in dialect-specific JSON SQL.
      return enabled.filter((e) => e.events === null || e.events.includes(type));
    },

    async sealLegacySecrets() {
      cache?.clear(undefined);
      let n = 0;
      const endpoints = await db
        .selectFrom("webhook_endpoints")
        .select(["id", "secret"])
        .where("secret", "not like", SEALED_LIKE)
        .execute();
      for (const e of endpoints) {
        await db
          .updateTable("webhook_endpoints")
          .set({ secret: box.seal(e.secret, endpointCtx(e.id)) })
          .where("id", "=", e.id)
          .where("secret", "=", e.secret)
          .execute();
        n++;
      }
      const callbacks = await db
        .selectFrom("webhook_callback_secrets")
        .select(["owner_id", "secret"])
        .where("secret", "not like", SEALED_LIKE)
        .execute();
      for (const c of callbacks) {
        await db
          .updateTable("webhook_callback_secrets")
          .set({ secret: box.seal(c.secret, callbackCtx(c.owner_id)) })
          .where("owner_id", "=", c.owner_id)
          .where("secret", "=", c.secret)
          .execute();
        n++;
      }
      return n;
    },

    async setCallbackSecret(ownerId, plain, now) {
      const secret = box.seal(plain, callbackCtx(ownerId));
      await db
        .insertInto("webhook_callback_secrets")
        .values({ owner_id: ownerId, secret, created_at: now })
        .onConflict((oc) => oc.column("owner_id").doUpdateSet({ secret, created_at: now }))
        .execute();
    },

    async callbackSecret(ownerId, tx) {
      const r = await connOf(db, tx)
        .selectFrom("webhook_callback_secrets")
        .select("secret")
        .where("owner_id", "=", ownerId)
        .executeTakeFirst();
      return r === undefined ? undefined : openOrEmpty(r.secret, callbackCtx(ownerId));
    },

    async insertEvent(e, tx) {
      const r = await connOf(db, tx)
        .insertInto("webhook_events")
        .values({
          id: e.id,
          task_id: e.taskId,
          owner_id: e.ownerId,
          type: e.type,
          payload: e.payload,
          created_at: e.createdAt,
        })
        .onConflict((oc) => oc.columns(["task_id", "type"]).doNothing())
        .executeTakeFirst();
      return (r.numInsertedOrUpdatedRows ?? 0n) > 0n;
    },

    async getEvent(id) {
      const r = await db.selectFrom("webhook_events").selectAll().where("id", "=", id).executeTakeFirst();
      return (
        r && {
          id: r.id,
          taskId: r.task_id,
          ownerId: r.owner_id,
          type: r.type,
          payload: r.payload,
          createdAt: r.created_at,
        }
      );
    },

    async insertDelivery(d, tx) {
      await connOf(db, tx)
        .insertInto("webhook_deliveries")
        .values({
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
        })
        .execute();
    },

    async getDelivery(id) {
      const r = await db.selectFrom("webhook_deliveries").selectAll().where("id", "=", id).executeTakeFirst();
      return r && toDelivery(r);
    },

    async recordAttempt(a, next, tx) {
      const conn = connOf(db, tx);
      await conn
        .insertInto("webhook_attempts")
        .values({
          delivery_id: a.deliveryId,
          attempt: a.attempt,
          started_at: a.startedAt,
          duration_ms: Math.round(a.durationMs),
          status_code: a.statusCode,
          error: a.error,
        })
        .execute();
      await conn
        .updateTable("webhook_deliveries")
        .set({
          status: next.status,
          attempt_count: a.attempt,
          next_attempt_at: next.nextAttemptAt,
          updated_at: a.startedAt + Math.round(a.durationMs),
        })
        .where("id", "=", a.deliveryId)
        .execute();
    },

    async requeueFailed(id, now, tx) {
      const r = await connOf(db, tx)
        .updateTable("webhook_deliveries")
        .set({ status: "pending", next_attempt_at: now, updated_at: now })
        .where("id", "=", id)
        .where("status", "=", "failed")
        .executeTakeFirst();
      return r.numUpdatedRows > 0n;
    },

    async listDeliveries({ id, taskId, status, limit }) {
      const rows = await db
        .selectFrom("webhook_deliveries")
        .selectAll()
        .$if(id !== undefined, (q) => q.where("id", "=", id ?? ""))
        .$if(taskId !== undefined, (q) => q.where("task_id", "=", taskId ?? ""))
        .$if(status !== undefined, (q) => q.where("status", "=", status ?? ""))
        .orderBy("created_at", "desc")
        .orderBy("id", "desc")
        .limit(limit)
        .execute();
      if (rows.length === 0) return [];
      const attempts = await db
        .selectFrom("webhook_attempts")
        .selectAll()
        .where(
          "delivery_id",
          "in",
          rows.map((r) => r.id),
        )
        .orderBy("attempt")
        .execute();
      return rows.map((r) => ({
        ...toDelivery(r),
        attempts: attempts.filter((a) => a.delivery_id === r.id).map(toAttempt),
      }));
    },
  };
}
