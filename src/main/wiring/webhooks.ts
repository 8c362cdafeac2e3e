/** Webhooks: the encrypted endpoint store, the sender, the outbox of task events and the runner. */
import { createSecretBox } from "../../adapters/crypto/secret-box.js";
import { createSqlWebhookStore } from "../../adapters/sql/webhook-store.js";
import { createWebhookSender } from "../../adapters/webhooks/sender.js";
import type { LinkSigner } from "../../core/media/links.js";
import type { TaskEvents } from "../../core/tasks/ports.js";
import { taskQueryView } from "../../core/tasks/views.js";
import { createWebhookRunner, type WebhookRunner } from "../../core/webhooks/delivery.js";
import {
  createWebhookOutbox,
  createWebhookService,
  type WebhookService,
} from "../../core/webhooks/webhooks.js";
import type { Wiring } from "./context.js";

export interface Webhooks {
  /** Records a webhook event in the transaction that changes a task. */
  readonly events: TaskEvents;
  /** Sends webhook deliveries from the job queue; started next to the worker. */
  readonly runner: WebhookRunner;
  /** What the admin and tenant routes use to manage endpoints and deliveries. */
  readonly service: WebhookService;
}

export async function buildWebhooks(
  { config, backends, clock, logger, overrides }: Wiring,
  deps: { signingSecret: string; links: LinkSigner },
): Promise<Webhooks> {
  const { db, queue } = backends;
  // Webhook signing secrets are kept encrypted, under a key derived from the signing secret.
  const store = createSqlWebhookStore(db.kysely, {
    box: createSecretBox(deps.signingSecret, "webhook-secrets"),
  });
  const sealed = await store.sealLegacySecrets();
  if (sealed > 0) logger.info({ sealed }, "encrypted webhook secrets stored in clear by an earlier version");
  const sender = createWebhookSender({
    allowHosts: config.webhooks.allowHosts,
    timeoutMs: config.webhooks.timeoutMs,
    userAgent: `Reelay-Webhooks/${config.version}`,
    ...(overrides.resolve ? { resolve: overrides.resolve } : {}),
  });
  const maxAttempts = config.webhooks.retryScheduleMs.length + 1;
  const events = createWebhookOutbox({
    store,
    queue,
    clock,
    view: (task) => taskQueryView(task, { clock, links: deps.links }),
    maxAttempts,
  });
  const runner = createWebhookRunner({
    db,
    queue,
    store,
    sender,
    clock,
    logger,
    settings: { ...config.webhooks, pollIntervalMs: config.engine.pollIntervalMs },
  });
  const service = createWebhookService({ db, store, queue, sender, clock, maxAttempts });
  return { events, runner, service };
}
