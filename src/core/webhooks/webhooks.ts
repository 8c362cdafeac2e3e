/**
 * Webhooks: owners register endpoints (or give a task its own `callback_url`), and when a task
 * ends, one event and one delivery job per receiver are written in the same transaction as the
 * final status (the outbox). The deliveries themselves run from the job queue (webhook_delivery.ts).
 */
import { randomBytes } from "node:crypto";
import { errors } from "../errors.js";
import { newId } from "../ids.js";
import type { JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Tx } from "../ports.js";
import type { TaskEvents } from "../tasks/ports.js";
import type { Task, TaskStatus } from "../tasks/task.js";
import type {
  WebhookAttempt,
  WebhookDelivery,
  WebhookDeliveryStatus,
  WebhookEndpoint,
  WebhookSender,
  WebhookStore,
} from "./ports.js";

/** What an endpoint receives when it does not say: a task's end. */
export const FINAL_EVENT_TYPES = ["video.completed", "video.failed", "video.cancelled"] as const;
/**
 * Every type an endpoint may ask for. `video.progress` (a task's feed recorded progress, coalesced
 * as feed.ts says) goes only to endpoints that list it, never to a task's `callback_url`.
 */
export const WEBHOOK_EVENT_TYPES = [...FINAL_EVENT_TYPES, "video.progress"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

const EVENT_OF: Partial<Record<TaskStatus, WebhookEventType>> = {
  completed: "video.completed",
  failed: "video.failed",
  cancelled: "video.cancelled",
};

/** Endpoints one owner may register: enough for staging + production + a spare or two. */
export const MAX_ENDPOINTS_PER_OWNER = 10;

/** A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString("base64")}`;

/** The event body every delivery sends: `{type, timestamp, data}`, data being the task as the query shows it. */
export interface EventBody {
  readonly type: WebhookEventType;
  readonly timestamp: string;
  readonly data: unknown;
}

/**
 * The outbox: called inside the transaction that ends a task. Writes the event (once per task and
 * type, so a transaction that runs twice announces nothing twice) and a delivery + job per receiver.
 */
export function createWebhookOutbox(deps: {
  store: WebhookStore;
  queue: JobQueue;
  clock: Clock;
  /** The task as the unified query shows it: the event's `data`. */
  view: (task: Task) => unknown;
  /** Attempts per delivery (the first and every retry): the job's budget. */
  maxAttempts: number;
}): TaskEvents {
  const { store, queue, clock } = deps;

  /**
   * Writes one event (unless its key is stored already) and a delivery + job per target. `key`
   * is what makes the event once-only per task: its type for the final ones; the type and the
   * feed's seq for progress, of which a task has many.
   */
  async function announce(
    task: Task,
    e: { type: WebhookEventType; key: string; endpoints: WebhookEndpoint[]; callback: string | null },
    tx: Tx,
  ): Promise<void> {
    if (e.endpoints.length === 0 && !e.callback) return;
    const now = clock.now();
    const body: EventBody = { type: e.type, timestamp: new Date(now).toISOString(), data: deps.view(task) };
    const eventId = newId("evt", now);
    const stored = await store.insertEvent(
      {
        id: eventId,
        taskId: task.id,
        ownerId: task.ownerId,
        type: e.key,
        payload: JSON.stringify(body),
        createdAt: now,
      },
      tx,
    );
    if (!stored) return;
    const targets = [
      ...e.endpoints.map((x) => ({ endpointId: x.id as string | null, url: x.url })),
      ...(e.callback ? [{ endpointId: null, url: e.callback }] : []),
    ];
    for (const target of targets) {
      const delivery: WebhookDelivery = {
        id: newId("whd", now),
        eventId,
        eventType: e.type,
        taskId: task.id,
        ownerId: task.ownerId,
        ...target,
        status: "pending",
        attemptCount: 0,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
      };
      await store.insertDelivery(delivery, tx);
      await queue.enqueue(
        {
          payload: { kind: "webhook", version: 1, deliveryId: delivery.id, taskId: task.id },
          runAt: now,
          maxAttempts: deps.maxAttempts,
        },
        tx,
      );
    }
  }

  return {
    async taskEnded(task, tx) {
      const type = EVENT_OF[task.status];
      if (!type) return;
      const endpoints = await store.endpointsFor(task.ownerId, type, tx);
      await announce(task, { type, key: type, endpoints, callback: task.request.callbackUrl ?? null }, tx);
    },
    async taskProgressed(task, event, tx) {
      const type = "video.progress";
      // Opt-in: an endpoint that did not list it (null: the final events) does not get it.
      const endpoints = (await store.endpointsFor(task.ownerId, type, tx)).filter((x) =>
        x.events?.includes(type),
      );
      await announce(task, { type, key: `${type}.${event.seq}`, endpoints, callback: null }, tx);
    },
  };
}

/** What the HTTP routes ask of webhooks. */
export interface WebhookService {
  /** Registers an endpoint for the owner; its secret is in this answer only. */
  register(opts: {
    ownerId: string;
    keyId: string | null;
    url: string;
    events: readonly WebhookEventType[] | null;
  }): Promise<WebhookEndpoint>;
  list(ownerId: string): Promise<WebhookEndpoint[]>;
  /** `webhook not found` (404) when the owner has no such endpoint. */
  remove(ownerId: string, id: string): Promise<void>;
  /** Turns a disabled endpoint back on (events from now on reach it); 404 when the owner has none. */
  enable(ownerId: string, id: string): Promise<WebhookEndpoint>;
  /** A new secret for the owner's `callback_url` deliveries, replacing the old one. */
  rotateCallbackSecret(ownerId: string): Promise<{ secret: string; createdAt: number }>;
  /** Checks a create's `callback_url`: the SSRF rules, and a callback secret to sign with. 400 on `callback_url`. */
  checkCallback(ownerId: string, url: string): Promise<void>;
  /**
   * Admin: gives a failed delivery another attempt now (then the rest of its schedule, if any is
   * left). `webhook_not_retryable` unless it is failed; 404 when there is none.
   */
  retryDelivery(id: string): Promise<WebhookDelivery & { attempts: WebhookAttempt[] }>;
  /** Admin: deliveries with their attempts, newest first. */
  deliveries(opts: {
    taskId?: string | undefined;
    status?: WebhookDeliveryStatus | undefined;
    limit: number;
  }): Promise<(WebhookDelivery & { attempts: WebhookAttempt[] })[]>;
}

export const MAX_WEBHOOK_URL_CHARS = 2048;

export function createWebhookService(deps: {
  db: Database;
  store: WebhookStore;
  queue: JobQueue;
  sender: WebhookSender;
  clock: Clock;
  /** Attempts per delivery job (as the outbox enqueues them). */
  maxAttempts: number;
}): WebhookService {
  const { db, store, queue, sender, clock } = deps;
  const withAttempts = async (id: string) => {
    const [d] = await store.listDeliveries({ id, limit: 1 });
    if (!d) throw errors.webhookDeliveryNotFound(id);
    return d;
  };
  const checkUrl = async (field: string, url: string): Promise<void> => {
    if (url.length > MAX_WEBHOOK_URL_CHARS) {
      throw errors.invalidField(field, `'${field}' is longer than ${MAX_WEBHOOK_URL_CHARS} characters`);
    }
    const problem = await sender.check(url);
    if (problem) throw errors.invalidField(field, `'${field}' ${problem}`);
  };
  return {
    async register({ ownerId, keyId, url, events }) {
      await checkUrl("url", url);
      if ((await store.listEndpoints(ownerId)).length >= MAX_ENDPOINTS_PER_OWNER) {
        throw errors.invalidField(
          "url",
          `At most ${MAX_ENDPOINTS_PER_OWNER} webhook endpoints per owner: delete one first`,
        );
      }
      const now = clock.now();
      const endpoint: WebhookEndpoint = {
        id: newId("whe", now),
        ownerId,
        keyId,
        url,
        events: events === null ? null : [...new Set(events)],
        secret: newWebhookSecret(),
        createdAt: now,
        disabledAt: null,
        disabledReason: null,
      };
      await store.insertEndpoint(endpoint);
      return endpoint;
    },
    list: (ownerId) => store.listEndpoints(ownerId),
    async remove(ownerId, id) {
      if (!(await store.deleteEndpoint(ownerId, id))) throw errors.webhookNotFound(id);
    },
    async enable(ownerId, id) {
      if (!(await store.setEndpointDisabled(id, null, { ownerId }))) throw errors.webhookNotFound(id);
      const e = await store.getEndpoint(id);
      if (!e) throw errors.webhookNotFound(id);
      return e;
    },
    async rotateCallbackSecret(ownerId) {
      const secret = newWebhookSecret();
      const createdAt = clock.now();
      await store.setCallbackSecret(ownerId, secret, createdAt);
      return { secret, createdAt };
    },
    async checkCallback(ownerId, url) {
      await checkUrl("callback_url", url);
      if ((await store.callbackSecret(ownerId)) === undefined) {
        throw errors.invalidField(
          "callback_url",
          "'callback_url' deliveries are signed with your callback secret: create it first with POST /v1/webhooks/secret",
        );
      }
    },
    async retryDelivery(id) {
      const before = await withAttempts(id);
      const now = clock.now();
      const requeued = await db.transaction(async (tx) => {
        if (!(await store.requeueFailed(id, now, tx))) return false;
        await queue.enqueue(
          {
            payload: { kind: "webhook", version: 1, deliveryId: id, taskId: before.taskId },
            runAt: now,
            maxAttempts: deps.maxAttempts,
          },
          tx,
        );
        return true;
      });
      if (!requeued) throw errors.webhookNotRetryable(id, before.status);
      return withAttempts(id);
    },
    deliveries: (opts) => store.listDeliveries(opts),
  };
}
