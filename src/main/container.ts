/**
 * The composition root: builds every service from the parsed config. Entry points call this and
 * nothing else wires adapters. Tests pass `overrides` to put fakes in place (a flaky provider,
 * a settable clock) instead of patching modules.
 */
import { join } from "node:path";
import type { Logger as PinoLogger } from "pino";
import { blobKeyFor } from "../adapters/blobs/fs.js";
import { createPrometheus } from "../adapters/metrics/prometheus.js";
import {
  type MediaTools,
  probe,
  resolveMediaTools,
} from "../adapters/providers/local-renderer/media-tools.js";
import { createSqlAccounts } from "../adapters/sqlite/accounts.js";
import { createSqlCharacterStore } from "../adapters/sqlite/character-store.js";
import { createSqlIdempotencyStore } from "../adapters/sqlite/idempotency-store.js";
import { createSqlKeyStore } from "../adapters/sqlite/key-store.js";
import { createSqlRateLimiter } from "../adapters/sqlite/rate-limiter.js";
import { createSqlTaskStore } from "../adapters/sqlite/task-store.js";
import { createDelogoRemover } from "../adapters/watermark/delogo.js";
import { createCharacterService } from "../core/characters.js";
import { createTaskEngine } from "../core/engine.js";
import { hashSecret } from "../core/keys.js";
import { createLinkSigner } from "../core/links.js";
import { modelTable } from "../core/models.js";
import type { Clock, MediaInspector, VideoProvider, WatermarkRemover } from "../core/ports.js";
import { createWorker, type Worker } from "../core/worker.js";
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

/** Reads uploaded videos with ffprobe (from npm, or FFPROBE_PATH). */
function ffprobeInspector(tools: MediaTools): MediaInspector {
  return {
    async inspectVideo(path) {
      const info = await probe(tools.ffprobePath, path).catch(() => undefined);
      const v = info?.streams.find((s) => s.codecType === "video");
      if (!info || !v?.width || !v.height || !(info.durationS > 0)) return undefined;
      return { width: v.width, height: v.height, durationS: info.durationS };
    },
  };
}

export interface Container {
  readonly services: AppServices;
  readonly worker: Worker;
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
    const keys = createSqlKeyStore(db.kysely);

    // ffmpeg and ffprobe serve uploads (probe) and watermark removal whatever the provider.
    const tools = await resolveMediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath });
    const chosen = overrides.provider ?? (await localRenderer(config, tools));
    const inspector = ffprobeInspector(tools);
    const remover = overrides.remover ?? createDelogoRemover({ ffmpegPath: tools.ffmpegPath });

    const prometheus = createPrometheus({ tasks, queue, clock });
    const accounts = createSqlAccounts(db.kysely);
    const billing = config.pricing ? { accounts, prices: config.pricing } : null;
    const worker = createWorker({
      db,
      tasks,
      queue,
      blobs,
      providerFor: () => chosen,
      blobKey: blobKeyFor,
      clock,
      logger,
      telemetry: prometheus.telemetry,
      remover,
      billing,
      settings: { ...config.engine, scratchDir },
    });
    const engine = createTaskEngine({
      db,
      tasks,
      idempotency: createSqlIdempotencyStore(db.kysely),
      billing,
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
    }

    const services: AppServices = {
      engine,
      keys,
      models: modelTable(config.models),
      links: createLinkSigner({ secret: signing.value, publicUrl: config.publicUrl, ttlS: config.linkTtlS }),
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
      characters: createCharacterService({ store: createSqlCharacterStore(db.kysely), engine, clock }),
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
      adminTokenFile: admin.path,
      async close() {
        await worker.stop();
        await backends.close();
      },
    };
  } catch (e) {
    await backends.close();
    throw e;
  }
}
