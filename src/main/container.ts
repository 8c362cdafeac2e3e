/**
 * The composition root: builds every service from the parsed config. Entry points call this and
 * nothing else wires adapters. Tests pass `overrides` to put fakes in place (a flaky provider,
 * a settable clock) instead of patching modules.
 */
import { join } from "node:path";
import type { Logger as PinoLogger } from "pino";
import { createSecretBox } from "../adapters/crypto/secret-box.js";
import { createPrometheus } from "../adapters/metrics/prometheus.js";
import type { Resolver } from "../adapters/net/guard.js";
import { imageInput, videoInput } from "../adapters/providers/local-renderer/media-input.js";
import {
  type MediaTools,
  probe,
  resolveMediaTools,
} from "../adapters/providers/local-renderer/media-tools.js";
import { createSqlAccounts } from "../adapters/sqlite/accounts.js";
import { createSqlCharacterStore } from "../adapters/sqlite/character-store.js";
import { createSqlIdempotencyStore } from "../adapters/sqlite/idempotency-store.js";
import { createSqlKeyStore } from "../adapters/sqlite/key-store.js";
import { createSqlPruner } from "../adapters/sqlite/pruner.js";
import { createSqlRateLimiter } from "../adapters/sqlite/rate-limiter.js";
import { createSqlTaskStore } from "../adapters/sqlite/task-store.js";
import {
  createSqlChannelHealthStore,
  createSqlUpstreamTaskStore,
} from "../adapters/sqlite/upstream-store.js";
import { createSqlWebhookStore } from "../adapters/sqlite/webhook-store.js";
import { createDelogoRemover } from "../adapters/watermark/delogo.js";
import { createWebhookSender } from "../adapters/webhooks/sender.js";
import { blobKeyFor } from "../core/blob_keys.js";
import { type Channel, createChannelRouter } from "../core/channels.js";
import { createCharacterService } from "../core/characters.js";
import { createTaskEngine } from "../core/engine.js";
import { cachingKeyStore } from "../core/key_cache.js";
import { hashSecret } from "../core/keys.js";
import { createLinkSigner } from "../core/links.js";
import { modelTable } from "../core/models.js";
import type { Clock, MediaInspector, VideoProvider, WatermarkRemover } from "../core/ports.js";
import { createRetention } from "../core/retention.js";
import { createTaskLifecycle } from "../core/task_lifecycle.js";
import type { UpstreamProvider } from "../core/upstream.js";
import { createUpstreamPoller, type UpstreamPoller } from "../core/upstream_poller.js";
import { createDispatcher } from "../core/upstream_submit.js";
import { createWebhookRunner, type WebhookRunner } from "../core/webhook_delivery.js";
import { createWebhookOutbox, createWebhookService } from "../core/webhooks.js";
import { createWorker, type Worker } from "../core/worker.js";
import { videoQueryView } from "../http/routes/v1_video_query.js";
import type { AppServices } from "../http/services.js";
import { openBackends } from "./backends.js";
import type { Config } from "./config.js";
import { fileSecret } from "./secrets.js";

export interface ContainerOverrides {
  readonly clock?: Clock;
  /** Replaces the provider for every model. */
  readonly provider?: VideoProvider;
  /** Replaces the watermark remover. */
  readonly remover?: WatermarkRemover;
  /** False in an API-only process (`reelay serve`): new jobs are left to the worker processes. */
  readonly runsWorker?: boolean;
  /** Replaces the DNS resolver of webhook deliveries (SSRF tests). */
  readonly resolve?: Resolver;
}

/** The built-in ffmpeg renderer; loaded only when used (a process with another provider skips it). */
async function localRenderer(config: Config, tools: MediaTools): Promise<VideoProvider> {
  const [{ createImageFetcher }, { createLocalRenderer }] = await Promise.all([
    import("../adapters/net/safe-fetch.js"),
    import("../adapters/providers/local-renderer/index.js"),
  ]);
  return createLocalRenderer({
    tools,
    fetcher: createImageFetcher(config.images),
    mark: config.localWatermark,
  });
}

/** The upstream adapter of a channel; null for the local renderer. */
async function upstreamOf(
  config: Config,
  ch: Config["channels"][number],
  resolve: Resolver | undefined,
): Promise<UpstreamProvider | null> {
  if (ch.kind === "local" || !ch.baseUrl) return null;
  const [
    { createChannelHttp },
    { createUnifiedRelayProvider },
    { createOpenAiVideosProvider },
    { createImageFetcher },
    { createHostGuard },
  ] = await Promise.all([
    import("../adapters/providers/upstream/http.js"),
    import("../adapters/providers/upstream/unified-relay.js"),
    import("../adapters/providers/upstream/openai-videos.js"),
    import("../adapters/net/safe-fetch.js"),
    import("../adapters/net/guard.js"),
  ]);
  const http = createChannelHttp({
    channelId: ch.id,
    baseUrl: ch.baseUrl,
    secret: ch.secret,
    connectTimeoutMs: ch.timeouts.connectMs,
    requestTimeoutMs: ch.timeouts.requestMs,
    downloadTimeoutMs: ch.timeouts.downloadMs,
    maxDownloadBytes: ch.maxDownloadBytes,
    connections: ch.connections,
    // Result links off the channel's origin: the same guard and allow-list as image links.
    offOriginGuard: createHostGuard({
      allowHosts: config.images.allowHosts,
      ...(resolve ? { resolve } : {}),
    }),
  });
  return ch.kind === "unified"
    ? createUnifiedRelayProvider(http)
    : createOpenAiVideosProvider(http, createImageFetcher(config.images));
}

/** Reads uploaded videos and images with ffprobe (from npm, or FFPROBE_PATH), as their sniffed type only. */
function ffprobeInspector(tools: MediaTools): MediaInspector {
  return {
    async inspectVideo(path) {
      const video = await videoInput(path);
      if (video === null) return undefined;
      const info = await probe(tools.ffprobePath, video).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!info || !v?.width || !v.height || !(info.durationS > 0)) return undefined;
      return { width: v.width, height: v.height, durationS: info.durationS };
    },
    async inspectImage(path) {
      const image = await imageInput(path);
      if (image === null) return undefined;
      const info = await probe(tools.ffprobePath, image).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!v?.width || !v.height) return undefined;
      return { type: image.type, width: v.width, height: v.height };
    },
  };
}

export interface Container {
  readonly services: AppServices;
  readonly worker: Worker;
  /** Sends webhook deliveries from the job queue; started next to the worker. */
  readonly webhookRunner: WebhookRunner;
  /** Where the generated admin token is, when it was not given by REELAY_ADMIN_TOKEN. */
  readonly adminTokenFile: string | null;
  close(): Promise<void>;
}

export async function buildContainer(
  config: Config,
  logger: PinoLogger,
  overrides: ContainerOverrides = {},
): Promise<Container> {
  const clock = overrides.clock ?? { now: () => Date.now() };
  const backends = await openBackends(config, clock, logger);
  const { db, queue, blobs, scratchDir } = backends;
  try {
    const admin = fileSecret(config.dataDir, "admin-token", config.adminToken);
    const signing = fileSecret(config.dataDir, "signing-secret", config.signingSecret);

    const tasks = createSqlTaskStore(db.kysely);
    // Looked-up keys are trusted for a few seconds (README: REELAY_KEY_CACHE_TTL_MS).
    const keys = cachingKeyStore(createSqlKeyStore(db.kysely), { ttlMs: config.keyCacheTtlMs, clock });

    // ffmpeg and ffprobe serve uploads (probe) and watermark removal whatever the provider.
    const tools = await resolveMediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
    const chosen = overrides.provider ?? (await localRenderer(config, tools));
    const inspector = ffprobeInspector(tools);
    const remover = overrides.remover ?? createDelogoRemover({ ffmpegPath: tools.ffmpegPath });

    const prometheus = createPrometheus({ tasks, queue, clock });
    const accounts = createSqlAccounts(db.kysely);
    const billing = config.pricing ? { accounts, prices: config.pricing } : null;
    const links = createLinkSigner({
      secret: signing.value,
      publicUrl: config.publicUrl,
      ttlS: config.linkTtlS,
    });
    // Webhook signing secrets are kept encrypted, under a key derived from the signing secret.
    const webhookStore = createSqlWebhookStore(db.kysely, {
      box: createSecretBox(signing.value, "webhook-secrets"),
    });
    const sealed = await webhookStore.sealLegacySecrets();
    if (sealed > 0)
      logger.info({ sealed }, "encrypted webhook secrets stored in clear by an earlier version");
    const webhookSender = createWebhookSender({
      allowHosts: config.webhooks.allowHosts,
      timeoutMs: config.webhooks.timeoutMs,
      userAgent: `Reelay-Webhooks/${config.version}`,
      ...(overrides.resolve ? { resolve: overrides.resolve } : {}),
    });
    const events = createWebhookOutbox({
      store: webhookStore,
      queue,
      clock,
      view: (task) => videoQueryView(task, { clock, links }),
      maxAttempts: config.webhooks.retryScheduleMs.length + 1,
    });
    const webhookRunner = createWebhookRunner({
      db,
      queue,
      store: webhookStore,
      sender: webhookSender,
      clock,
      logger,
      settings: { ...config.webhooks, pollIntervalMs: config.engine.pollIntervalMs },
    });

    const upstreamTasks = createSqlUpstreamTaskStore(db.kysely);
    const channels: Channel[] = await Promise.all(
      config.channels.map(async (ch) => ({
        spec: {
          id: ch.id,
          kind: ch.kind,
          priority: ch.priority,
          weight: ch.weight,
          maxConcurrent: ch.maxConcurrent,
          models: ch.models,
          pollIntervalMs: ch.pollIntervalMs,
          cooldown: ch.cooldown,
        },
        upstream: await upstreamOf(config, ch, overrides.resolve),
      })),
    );
    const router = createChannelRouter({
      channels,
      health: createSqlChannelHealthStore(db.kysely),
      upstreamTasks,
    });
    const hasUpstreams = channels.some((c) => c.upstream !== null);
    // Tasks still pinned to a channel the config no longer has: its record keeps the upstream id
    // but not the base URL or credential, so nobody could poll it. The poller runs anyway, to end
    // them at once (failed, naming the channel, refunded) rather than leave them running for ever.
    const orphaned = [...(await upstreamTasks.inFlight()).keys()].some(
      (id) => !channels.some((c) => c.spec.id === id && c.upstream !== null),
    );
    // The one writer of task status, shared by the engine, the worker and the poller.
    const lifecycle = createTaskLifecycle({ tasks, billing, clock, events });
    let poller: UpstreamPoller | null = null;
    if (hasUpstreams || orphaned) {
      const { createResultFinisher } = await import("../adapters/providers/upstream/finisher.js");
      poller = createUpstreamPoller({
        db,
        tasks,
        lifecycle,
        upstreamTasks,
        router,
        blobs,
        finisher: createResultFinisher({ tools, blobs, blobKey: blobKeyFor }),
        clock,
        logger,
        telemetry: prometheus.telemetry,
        settings: { ...config.poller, scratchDir },
      });
    }
    const renderer = createWorker({
      db,
      tasks,
      queue,
      blobs,
      lifecycle,
      providerFor: () => chosen,
      blobKey: blobKeyFor,
      clock,
      logger,
      telemetry: prometheus.telemetry,
      remover,
      dispatcher: hasUpstreams
        ? createDispatcher({
            db,
            lifecycle,
            queue,
            upstreamTasks,
            router,
            clock,
            logger,
            onSubmitted: () => poller?.wake(),
          })
        : null,
      settings: { ...config.engine, scratchDir },
    });
    // Runs where jobs run (a serve-only process has no background work); several at once are harmless.
    const retention = createRetention({
      pruner: createSqlPruner(db.kysely),
      clock,
      logger,
      settings: { webhookRetentionMs: config.webhooks.retentionMs, intervalMs: 3600_000 },
    });
    // One worker for callers: render jobs, the poller following upstream tasks, the prune of old rows.
    const worker: Worker = {
      start() {
        renderer.start();
        poller?.start();
        retention.start();
      },
      wake: () => renderer.wake(),
      interrupt: (taskId) => renderer.interrupt(taskId),
      async stop() {
        retention.stop();
        await Promise.all([renderer.stop(), poller?.stop()]);
      },
      get active() {
        return renderer.active;
      },
    };
    const engine = createTaskEngine({
      db,
      tasks,
      idempotency: createSqlIdempotencyStore(db.kysely),
      lifecycle,
      queue,
      blobs,
      clock,
      settings: config.engine,
      onEnqueued: overrides.runsWorker === false ? () => undefined : () => worker.wake(),
      onStopped: (taskId) => worker.interrupt(taskId),
    });
    if (backends.soleProcess) {
      // This process holds the data dir's exclusive lock, so any lease in the table belongs to a
      // process that died: hand those jobs out again now rather than when their leases expire.
      // (With a shared database, other processes hold leases: pg-boss expires dead ones.)
      const released = await queue.releaseAllLeases();
      if (released > 0) logger.warn({ jobs: released }, "re-queued jobs left running by a previous process");
      await upstreamTasks.releaseAll(clock.now());
    }

    const services: AppServices = {
      engine,
      keys,
      models: modelTable(config.models),
      links,
      blobs,
      clock,
      adminTokenHash: hashSecret(admin.value),
      db,
      queue,
      inspector,
      rateLimiter: createSqlRateLimiter(db.kysely),
      accounts,
      billingEnabled: billing !== null,
      prices: config.pricing,
      limits: config.limits,
      router,
      upstreamTasks,
      imageLinks: (await import("../adapters/net/safe-fetch.js")).createImageFetcher({
        ...config.images,
        ...(overrides.resolve ? { resolve: overrides.resolve } : {}),
      }),
      characters: createCharacterService({ store: createSqlCharacterStore(db.kysely), engine, clock }),
      webhooks: createWebhookService({
        db,
        store: webhookStore,
        queue,
        sender: webhookSender,
        clock,
        maxAttempts: config.webhooks.retryScheduleMs.length + 1,
      }),
      metrics: prometheus,
      publicUrl: config.publicUrl,
      version: config.version,
      chatWaitS: config.chatWaitS,
      uploads: {
        spoolDir: join(scratchDir, "uploads"),
        maxImageBytes: config.images.maxBytes,
        maxVideoBytes: config.uploadMaxBytes,
      },
    };
    return {
      services,
      worker,
      webhookRunner,
      adminTokenFile: admin.path,
      async close() {
        await worker.stop();
        await webhookRunner.stop();
        await backends.close();
      },
    };
  } catch (e) {
    await backends.close();
    throw e;
  }
}
