/** What the HTTP routes are given: the services of every other part, and the limits they apply. */
import { join } from "node:path";
import { hashSecret } from "../../core/accounts/keys.js";
import { modelTable } from "../../core/catalogue/models.js";
import { createCharacterService } from "../../core/characters/characters.js";
import type { LinkSigner } from "../../core/media/links.js";
import { createCallbackReceiver } from "../../core/upstream/callbacks.js";
import type { AppServices } from "../../http/services.js";
import type { Channels } from "./channels.js";
import type { Wiring } from "./context.js";
import type { Media } from "./media.js";
import type { Stats } from "./stats.js";
import type { Stores } from "./stores.js";
import type { Tasks } from "./tasks.js";
import type { Webhooks } from "./webhooks.js";

export interface ServiceParts {
  readonly stores: Stores;
  readonly media: Media;
  readonly channels: Channels;
  readonly webhooks: Webhooks;
  readonly tasks: Tasks;
  readonly links: LinkSigner;
  readonly metrics: AppServices["metrics"];
  readonly adminToken: string;
  readonly stats: Stats;
}

export async function buildServices(w: Wiring, parts: ServiceParts): Promise<AppServices> {
  const { config, backends, clock, overrides } = w;
  const { stores, tasks } = parts;
  return {
    engine: tasks.engine,
    keys: stores.keys,
    models: modelTable(config.models),
    links: parts.links,
    blobs: backends.blobs,
    clock,
    adminTokenHash: hashSecret(parts.adminToken),
    db: backends.db,
    queue: backends.queue,
    inspector: parts.media.inspector,
    rateLimiter: stores.rateLimiter,
    accounts: stores.accounts,
    billingEnabled: stores.billing !== null,
    prices: config.pricing,
    limits: config.limits,
    router: parts.channels.router,
    upstreamTasks: stores.upstreamTasks,
    attempts: stores.attempts,
    storyboards: stores.storyboards,
    callbacks: createCallbackReceiver({
      links: parts.channels.callbackLinks,
      router: parts.channels.router,
      upstreamTasks: stores.upstreamTasks,
      clock,
      logger: w.logger,
      wake: tasks.pollNow,
      telemetry: parts.stats.telemetry,
    }),
    imageLinks: (await import("../../adapters/net/safe-fetch.js")).createImageFetcher({
      ...config.images,
      ...(overrides.resolve ? { resolve: overrides.resolve } : {}),
    }),
    characters: createCharacterService({ store: stores.characters, engine: tasks.engine, clock }),
    webhooks: parts.webhooks.service,
    stats: {
      store: parts.stats.store,
      tasks: stores.tasks,
      intervalMs: config.stats.intervalMs,
      settleMs: config.stats.settleMs,
    },
    metrics: parts.metrics,
    publicUrl: config.publicUrl,
    version: config.version,
    chatWaitS: config.chatWaitS,
    events: { ...tasks.feeds, ...config.events },
    uploads: {
      spoolDir: join(backends.scratchDir, "uploads"),
      maxImageBytes: config.images.maxBytes,
      maxVideoBytes: config.uploadMaxBytes,
    },
  };
}
