/**
 * The task engine and the background work that moves tasks: the render worker, the poller that
 * follows upstream tasks, the dispatcher that hands tasks to channels and the prune of old rows.
 */

import { createFilmEditor } from "../../adapters/providers/local-renderer/film-editor.js";
import { createSqlTaskFeedStore } from "../../adapters/sql/task-feed-store.js";
import { modelTable } from "../../core/catalogue/models.js";
import { createWorker, type Worker } from "../../core/jobs/worker.js";
import { blobKeyFor } from "../../core/media/blob_keys.js";
import type { Telemetry } from "../../core/ports.js";
import { createStoryboardSteps } from "../../core/storyboards/advance.js";
import { bothEvents, createStoryboardRunner, storyboardEvents } from "../../core/storyboards/runner.js";
import { createTaskEngine, type TaskEngine } from "../../core/tasks/engine.js";
import { createTaskFeed, type TaskFeed, type TaskFeedStore } from "../../core/tasks/feed.js";
import { createFeedHub, type FeedHub } from "../../core/tasks/feed_hub.js";
import { createTaskLifecycle, type TaskLifecycle } from "../../core/tasks/lifecycle.js";
import { createRetention } from "../../core/tasks/retention.js";
import { createFailover } from "../../core/upstream/failover.js";
import { createUpstreamPoller, type UpstreamPoller } from "../../core/upstream/poller.js";
import { createDispatcher } from "../../core/upstream/submit.js";
import type { Channels } from "./channels.js";
import type { Wiring } from "./context.js";
import type { Media } from "./media.js";
import type { Stores } from "./stores.js";
import type { Webhooks } from "./webhooks.js";

export interface TaskParts {
  readonly stores: Stores;
  readonly media: Media;
  readonly channels: Channels;
  readonly webhooks: Webhooks;
  readonly telemetry: Telemetry;
}

export interface Tasks {
  readonly engine: TaskEngine;
  /** One worker for callers: render jobs, the poller following upstream tasks, the prune of old rows. */
  readonly worker: Worker;
  /** Tells this process's poller a task is due (a provider's callback); a no-op where none runs. */
  readonly pollNow: () => void;
  /** Each task's feed of changes, and what wakes the open event streams when one grows. */
  readonly feeds: { readonly feed: TaskFeed; readonly store: TaskFeedStore; readonly hub: FeedHub };
}

async function buildPoller(
  w: Wiring,
  parts: TaskParts,
  lifecycle: TaskLifecycle,
  onFailedOver: () => void,
): Promise<UpstreamPoller | null> {
  if (!parts.channels.needsPoller) return null;
  const { config, backends, clock, logger } = w;
  const { db, blobs, scratchDir, queue } = backends;
  const { createResultFinisher } = await import("../../adapters/providers/upstream/finisher.js");
  return createUpstreamPoller({
    db,
    tasks: parts.stores.tasks,
    lifecycle,
    upstreamTasks: parts.stores.upstreamTasks,
    router: parts.channels.router,
    blobs,
    finisher: createResultFinisher({ tools: parts.media.tools, blobs, blobKey: blobKeyFor }),
    clock,
    logger,
    telemetry: parts.telemetry,
    settings: { ...config.poller, scratchDir },
    failover: createFailover({
      db,
      lifecycle,
      upstreamTasks: parts.stores.upstreamTasks,
      attempts: parts.stores.attempts,
      queue,
      router: parts.channels.router,
      models: modelTable(config.models),
      clock,
      logger,
      jobMaxAttempts: config.engine.maxAttempts,
      telemetry: parts.telemetry,
      onFailedOver,
    }),
  });
}

async function buildWorker(
  w: Wiring,
  parts: TaskParts,
  lifecycle: TaskLifecycle,
): Promise<Worker & { pollNow: () => void }> {
  const { config, backends, clock, logger } = w;
  const { db, queue, blobs, scratchDir } = backends;
  const { stores, channels } = parts;
  // A failed-over task's job is enqueued by the poller: the renderer (built next) looks at once.
  let wakeRenderer: () => void = () => undefined;
  const poller = await buildPoller(w, parts, lifecycle, () => wakeRenderer());
  const renderer = createWorker({
    db,
    tasks: stores.tasks,
    queue,
    blobs,
    lifecycle,
    providerFor: () => parts.media.provider,
    blobKey: blobKeyFor,
    clock,
    logger,
    telemetry: parts.telemetry,
    remover: parts.media.remover,
    dispatcher: channels.hasUpstreams
      ? createDispatcher({
          db,
          lifecycle,
          queue,
          upstreamTasks: stores.upstreamTasks,
          attempts: stores.attempts,
          router: channels.router,
          clock,
          logger,
          onSubmitted: () => poller?.wake(),
          callbackUrlFor: (channelId, taskId) => channels.callbackLinks.urlFor(channelId, taskId),
        })
      : null,
    settings: { ...config.engine, scratchDir },
  });
  wakeRenderer = () => renderer.wake();
  const storyboards = createStoryboardRunner({
    db,
    queue,
    tasks: stores.tasks,
    lifecycle,
    steps: createStoryboardSteps({
      db,
      tasks: stores.tasks,
      lifecycle,
      queue,
      blobs,
      storyboards: stores.storyboards,
      editor: createFilmEditor(parts.media.tools),
      models: modelTable(config.models),
      clock,
      logger,
      settings: {
        maxAttempts: config.engine.maxAttempts,
        taskTimeoutS: config.engine.taskTimeoutS,
        scratchDir,
        fps: 30,
      },
      onEnqueued: () => renderer.wake(),
      onStopped: (taskId) => renderer.interrupt(taskId),
    }),
    clock,
    logger,
    settings: config.engine,
  });
  // Runs where jobs run (a serve-only process has no background work); several at once are harmless.
  const retention = createRetention({
    pruner: stores.pruner,
    clock,
    logger,
    settings: { webhookRetentionMs: config.webhooks.retentionMs, intervalMs: 3600_000 },
  });
  return {
    start() {
      renderer.start();
      storyboards.start();
      poller?.start();
      retention.start();
    },
    wake: () => renderer.wake(),
    pollNow: () => poller?.wake(),
    interrupt: (taskId) => renderer.interrupt(taskId),
    async stop() {
      retention.stop();
      await Promise.all([renderer.stop(), storyboards.stop(), poller?.stop()]);
    },
    get active() {
      return renderer.active;
    },
  };
}

/** Task feeds; a process that shares its database with others tails them for the others' changes. */
function buildFeeds({ config, backends, clock, logger }: Wiring): Tasks["feeds"] {
  const store = createSqlTaskFeedStore(backends.db.kysely, {
    onStored: (taskId, seq) => hub.stored(taskId, seq),
  });
  const hub = createFeedHub({
    store,
    tailMs: backends.soleProcess ? null : config.events.tailMs,
    logger,
  });
  return { feed: createTaskFeed({ store, clock }), store, hub };
}

export async function buildTasks(w: Wiring, parts: TaskParts): Promise<Tasks> {
  const { config, backends, clock, overrides } = w;
  const { db, queue, blobs } = backends;
  const feeds = buildFeeds(w);
  // The one writer of task status, shared by the engine, the worker and the poller.
  const lifecycle = createTaskLifecycle({
    tasks: parts.stores.tasks,
    billing: parts.stores.billing,
    clock,
    attempts: parts.stores.attempts,
    feed: { feed: feeds.feed, db },
    // A shot that ends (or a storyboard cancelled) moves its storyboard on, in the same transaction.
    events: bothEvents(parts.webhooks.events, storyboardEvents(queue, clock)),
  });
  const worker = await buildWorker(w, parts, lifecycle);
  const engine = createTaskEngine({
    db,
    tasks: parts.stores.tasks,
    idempotency: parts.stores.idempotency,
    lifecycle,
    queue,
    blobs,
    clock,
    settings: config.engine,
    onEnqueued: overrides.runsWorker === false ? () => undefined : () => worker.wake(),
    onStopped: (taskId) => worker.interrupt(taskId),
  });
  // An adapter heard an upstream task change (a ComfyUI server's event): poll that task now.
  parts.channels.onUpstreamChange((channelId, upstreamId) => {
    void parts.stores.upstreamTasks
      .expediteUpstream(channelId, upstreamId, clock.now())
      .then((taskId) => {
        if (taskId) worker.pollNow();
      })
      .catch((e) => w.logger.warn({ err: e, channel: channelId }, "polling a changed upstream task failed"));
  });
  return { engine, worker, pollNow: worker.pollNow, feeds };
}

/**
 * In embedded mode this process holds the data dir's exclusive lock, so any lease in the table
 * belongs to a process that died: hand those jobs out again now rather than when their leases
 * expire. (With a shared database, other processes hold leases: pg-boss expires dead ones.)
 */
export async function releaseLeftovers({ backends, clock, logger }: Wiring, stores: Stores): Promise<void> {
  if (!backends.soleProcess) return;
  const released = await backends.queue.releaseAllLeases();
  if (released > 0) logger.warn({ jobs: released }, "re-queued jobs left running by a previous process");
  await stores.upstreamTasks.releaseAll(clock.now());
}
