/**
 * The composition root: builds every service from the parsed config. Entry points call this and
 * nothing else wires adapters. Tests pass `overrides` to put fakes in place (a flaky provider,
 * a settable clock) instead of patching modules. Each part is built in `wiring/`, in the order
 * below: what a part needs is built before it.
 */
import type { Logger as PinoLogger } from "pino";
import { createPrometheus } from "../adapters/metrics/prometheus.js";
import type { Worker } from "../core/jobs/worker.js";
import { createLinkSigner } from "../core/media/links.js";
import type { StatsRoller } from "../core/stats/roller.js";
import type { WebhookRunner } from "../core/webhooks/delivery.js";
import type { AppServices } from "../http/services.js";
import { openBackends } from "./backends.js";
import type { Config } from "./config.js";
import { fileSecret } from "./secrets.js";
import { buildChannels } from "./wiring/channels.js";
import type { ContainerOverrides, Wiring } from "./wiring/context.js";
import { buildMedia } from "./wiring/media.js";
import { buildServices } from "./wiring/services.js";
import { buildStats } from "./wiring/stats.js";
import { openStores } from "./wiring/stores.js";
import { buildTasks, releaseLeftovers } from "./wiring/tasks.js";
import { buildWebhooks } from "./wiring/webhooks.js";

export type { ContainerOverrides } from "./wiring/context.js";

export interface Container {
  readonly services: AppServices;
  readonly worker: Worker;
  /** Sends webhook deliveries from the job queue; started next to the worker. */
  readonly webhookRunner: WebhookRunner;
  /** Where the generated admin token is, when it was not given by REELAY_ADMIN_TOKEN. */
  readonly adminTokenFile: string | null;
  /** Rolls up the dashboard's figures in the background; `runOnce` rolls now (tests, benchmarks). */
  readonly statsRoller: StatsRoller;
  close(): Promise<void>;
}

export async function buildContainer(
  config: Config,
  logger: PinoLogger,
  overrides: ContainerOverrides = {},
): Promise<Container> {
  const clock = overrides.clock ?? { now: () => Date.now() };
  const backends = await openBackends(config, clock, logger);
  try {
    const w: Wiring = { config, logger, clock, overrides, backends };
    const admin = fileSecret(config.dataDir, "admin-token", config.adminToken);
    const signing = fileSecret(config.dataDir, "signing-secret", config.signingSecret);
    const stores = openStores(w);
    const media = await buildMedia(w);
    const prometheus = createPrometheus({ tasks: stores.tasks, queue: backends.queue, clock });
    const links = createLinkSigner({
      secret: signing.value,
      publicUrl: config.publicUrl,
      ttlS: config.linkTtlS,
    });
    const webhooks = await buildWebhooks(w, { signingSecret: signing.value, links });
    const channels = await buildChannels(w, stores, { signingSecret: signing.value });
    const stats = buildStats(w, prometheus.telemetry);
    const { telemetry } = stats;
    const tasks = await buildTasks(w, { stores, media, channels, webhooks, telemetry });
    await releaseLeftovers(w, stores);
    const adminToken = admin.value;
    const parts = { stores, media, channels, webhooks, tasks, links, metrics: prometheus, adminToken, stats };
    const services = await buildServices(w, parts);
    const { worker } = tasks;
    // Every process rolls (they take turns) and counts its own polls and callbacks.
    const roller = stats.roller(channels.router);
    roller.start();
    return {
      services,
      worker,
      webhookRunner: webhooks.runner,
      adminTokenFile: admin.path,
      statsRoller: roller,
      async close() {
        await roller.stop();
        await worker.stop();
        await webhooks.runner.stop();
        await channels.close();
        await backends.close();
      },
    };
  } catch (e) {
    await backends.close();
    throw e;
  }
}
