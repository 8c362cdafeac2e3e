/**
 * Ports of webhooks: where endpoints, events, deliveries and attempts are kept, and what sends a
 * signed message. (Split from ports.ts by feature; the same rules apply.)
 */
import type { Tx } from "../ports.js";

/** A URL an owner registered to receive task events. */
export interface WebhookEndpoint {
  readonly id: string;
  readonly ownerId: string;
  /** The API key that registered it. */
  readonly keyId: string | null;
  readonly url: string;
  /** Event types it receives; null: all. */
  readonly events: readonly string[] | null;
  /** The Standard Webhooks signing secret (`whsec_…`); shown to its owner once, at creation. */
  readonly secret: string;
  readonly createdAt: number;
  /** When deliveries to it stopped (its receiver answered 410 Gone); null while it is enabled. */
  readonly disabledAt: number | null;
  readonly disabledReason: string | null;
}

/** One event of one task, stored once per (task, type): its id is the `webhook-id` every delivery carries. */
export interface WebhookEvent {
  readonly id: string;
  readonly taskId: string;
  readonly ownerId: string;
  readonly type: string;
  /** The JSON body every delivery of the event sends. */
  readonly payload: string;
  readonly createdAt: number;
}

export type WebhookDeliveryStatus = "pending" | "delivered" | "failed";

/** One event on its way to one URL (a registered endpoint, or the task's `callback_url`). */
export interface WebhookDelivery {
  readonly id: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly taskId: string;
  readonly ownerId: string;
  /** The registered endpoint; null for a task's own `callback_url`. */
  readonly endpointId: string | null;
  readonly url: string;
  readonly status: WebhookDeliveryStatus;
  readonly attemptCount: number;
  /** When the next attempt is due, while pending. */
  readonly nextAttemptAt: number | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface WebhookAttempt {
  readonly deliveryId: string;
  /** 1 for the first. */
  readonly attempt: number;
  readonly startedAt: number;
  readonly durationMs: number;
  /** The receiver's HTTP status; null when none came (network error, refused URL, timeout). */
  readonly statusCode: number | null;
  readonly error: string | null;
}

/** Webhook endpoints, events, deliveries and their attempts. */
export interface WebhookStore {
  insertEndpoint(e: WebhookEndpoint): Promise<void>;
  getEndpoint(id: string, tx?: Tx): Promise<WebhookEndpoint | undefined>;
  /** The owner's endpoints, oldest first. */
  listEndpoints(ownerId: string): Promise<WebhookEndpoint[]>;
  /** Removes the owner's endpoint; false when the owner has none with that id. */
  deleteEndpoint(ownerId: string, id: string): Promise<boolean>;
  /**
   * Stops (`disabled` given) or restarts (null) deliveries to an endpoint; with `ownerId`, only
   * that owner's. False when there is no such endpoint.
   */
  setEndpointDisabled(
    id: string,
    disabled: { at: number; reason: string } | null,
    opts: { ownerId?: string; tx?: Tx },
  ): Promise<boolean>;
  /** The owner's enabled endpoints that receive `type`. */
  endpointsFor(ownerId: string, type: string, tx?: Tx): Promise<WebhookEndpoint[]>;
  /**
   * Encrypts the secrets stored in clear by versions before encryption at rest; returns how many.
   * Run at start; safe to run in several processes at once.
   */
  sealLegacySecrets(): Promise<number>;
  /** Sets (or replaces) the secret that signs the owner's `callback_url` deliveries. */
  setCallbackSecret(ownerId: string, secret: string, now: number): Promise<void>;
  callbackSecret(ownerId: string, tx?: Tx): Promise<string | undefined>;
  /** Stores the event unless one for its (task, type) exists; true when this call stored it. */
  insertEvent(e: WebhookEvent, tx: Tx): Promise<boolean>;
  getEvent(id: string): Promise<WebhookEvent | undefined>;
  insertDelivery(d: WebhookDelivery, tx: Tx): Promise<void>;
  getDelivery(id: string): Promise<WebhookDelivery | undefined>;
  /** Records an attempt and the delivery's state after it, together. */
  recordAttempt(
    a: WebhookAttempt,
    next: { status: WebhookDeliveryStatus; nextAttemptAt: number | null },
    tx?: Tx,
  ): Promise<void>;
  /** Makes a failed delivery pending again, due at `now`; false (nothing written) when it is not failed. */
  requeueFailed(id: string, now: number, tx: Tx): Promise<boolean>;
  /** Deliveries, newest first, with their attempts (oldest first), filtered when asked. */
  listDeliveries(opts: {
    id?: string | undefined;
    taskId?: string | undefined;
    status?: WebhookDeliveryStatus | undefined;
    limit: number;
  }): Promise<(WebhookDelivery & { attempts: WebhookAttempt[] })[]>;
}

/** A message to send, signed per Standard Webhooks with `secret`. */
export interface WebhookMessage {
  readonly url: string;
  readonly secret: string;
  /** The event id (`webhook-id`): receivers de-duplicate on it. */
  readonly id: string;
  readonly timestamp: Date;
  readonly body: string;
}

export interface WebhookSendResult {
  /** A 2xx answer. */
  readonly ok: boolean;
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
  /** Retrying cannot help (the URL is refused, the receiver answered 410 Gone). */
  readonly permanent: boolean;
}

/** Sends webhooks over HTTP, through the SSRF guard. */
export interface WebhookSender {
  /** Why `url` may not receive webhooks (bad URL, a private address once resolved), or null when it may. */
  check(url: string): Promise<string | null>;
  /** One attempt; never throws for the receiver's or the network's failures (they are in the result). */
  send(msg: WebhookMessage, signal: AbortSignal): Promise<WebhookSendResult>;
}
