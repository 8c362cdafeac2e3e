/**
 * The webhook delivery runner: claims `webhook` jobs only (renders have their own runner), sends
 * each delivery once per job run, records the attempt, and reschedules failures along the retry
 * schedule (exponential, with jitter) until it is spent; then the delivery is `failed` and its job
 * goes to the dead-letter state.
 */
import { type BackoffPolicy, delayMs } from "../jobs/backoff.js";
import type { ClaimedJob, JobQueue } from "../jobs/ports.js";
import type { Clock, Database, Logger } from "../ports.js";
import type { WebhookSender, WebhookStore } from "./ports.js";

export interface WebhookRunnerSettings {
  /** Deliveries in flight at once. */
  readonly concurrency: number;
  readonly pollIntervalMs: number;
  /** Waits before the 2nd, 3rd, … attempt; its length + 1 is the number of attempts. */
  readonly retryScheduleMs: readonly number[];
  /** Budget of one attempt (connect, headers, body). */
  readonly timeoutMs: number;
}

export interface WebhookRunner {
  start(): void;
  /** Stops claiming; waits for the attempts in flight (they are short and bounded by the timeout). */
  stop(): Promise<void>;
}

/**
 * The deliveries' retry policy: the operator's schedule as it is configured, each wait drawn from
 * [80 %, 120 %] of it so receivers that failed together are not hit together.
 */
export const deliveryRetries = (schedule: readonly number[]): BackoffPolicy => ({
  baseMs: schedule.at(-1) ?? 0,
  maxMs: schedule.at(-1) ?? 0,
  schedule,
  jitter: [0.8, 1.2],
});

/** The wait the schedule gives as `scheduled`, jittered by the deliveries' policy. */
export const retryDelayMs = (scheduled: number, random: () => number = Math.random): number =>
  delayMs(deliveryRetries([scheduled]), 1, { random });

export function createWebhookRunner(deps: {
  db: Database;
  queue: JobQueue;
  store: WebhookStore;
  sender: WebhookSender;
  clock: Clock;
  logger: Logger;
  settings: WebhookRunnerSettings;
}): WebhookRunner {
  const { db, queue, store, sender, clock, logger, settings } = deps;
  const running = new Set<Promise<void>>();
  let controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let stopping = false;
  let filling = false;
  // The lease outlives the attempt's own timeout: a delivery is never handed out twice while it runs.
  const leaseMs = settings.timeoutMs + 30_000;
  const retries = deliveryRetries(settings.retryScheduleMs);

  async function fill(): Promise<void> {
    if (filling || stopping) return;
    filling = true;
    try {
      const free = settings.concurrency - running.size;
      if (free <= 0) return;
      const jobs = await queue.claim({ limit: free, leaseMs, now: clock.now(), kinds: ["webhook"] });
      for (const job of jobs) {
        const p: Promise<void> = run(job)
          .catch((e) => logger.error({ err: e, jobId: job.id }, "webhook delivery crashed"))
          .finally(() => {
            running.delete(p);
            // A free slot: take the next due delivery now rather than at the next poll.
            void fill();
          });
        running.add(p);
      }
    } catch (e) {
      logger.error({ err: e }, "claiming webhook jobs failed");
    } finally {
      filling = false;
    }
  }

  async function run(job: ClaimedJob): Promise<void> {
    const p = job.payload;
    if (p.kind !== "webhook" || p.version !== 1) {
      await queue.bury(job, `unknown job payload ${JSON.stringify(p)}`);
      return;
    }
    const log = logger.child({ taskId: p.taskId, deliveryId: p.deliveryId, jobId: job.id });
    const delivery = await store.getDelivery(p.deliveryId);
    if (delivery?.status !== "pending") {
      await queue.complete(job);
      return;
    }
    const attempt = delivery.attemptCount + 1;
    const startedAt = clock.now();
    const giveUp = async (error: string) => {
      await db.transaction(async (tx) => {
        await store.recordAttempt(
          { deliveryId: delivery.id, attempt, startedAt, durationMs: 0, statusCode: null, error },
          { status: "failed", nextAttemptAt: null },
          tx,
        );
        await queue.bury(job, error, tx);
      });
      log.warn({ error }, "webhook delivery failed for good");
    };
    const event = await store.getEvent(delivery.eventId);
    if (!event) return giveUp("the event is gone");
    const endpoint = delivery.endpointId ? await store.getEndpoint(delivery.endpointId) : undefined;
    if (endpoint?.disabledAt != null) {
      return giveUp(`the endpoint is disabled (${endpoint.disabledReason ?? "by its owner"})`);
    }
    const secret = delivery.endpointId ? endpoint?.secret : await store.callbackSecret(delivery.ownerId);
    if (secret === undefined) {
      return giveUp(delivery.endpointId ? "the endpoint was deleted" : "the owner has no callback secret");
    }
    if (secret === "") {
      return giveUp(
        "its signing secret cannot be decrypted with this server's key (was REELAY_SIGNING_SECRET changed?): " +
          (delivery.endpointId ? "register the endpoint again" : "make a new callback secret"),
      );
    }

    const result = await sender.send(
      { url: delivery.url, secret, id: event.id, timestamp: new Date(startedAt), body: event.payload },
      controller.signal,
    );
    if (controller.signal.aborted) {
      // Cut by shutdown, not failed: hand the job back without spending an attempt.
      await queue.release(job);
      return;
    }
    const record = { deliveryId: delivery.id, attempt, startedAt, ...pick(result) };
    const spent = attempt > settings.retryScheduleMs.length;
    if (result.ok) {
      await db.transaction(async (tx) => {
        await store.recordAttempt(record, { status: "delivered", nextAttemptAt: null }, tx);
        await queue.complete(job, tx);
      });
      log.info({ attempt, status: result.statusCode }, "webhook delivered");
    } else if (result.permanent || spent) {
      const why = result.error ?? `HTTP ${result.statusCode}`;
      // 410 Gone from a registered endpoint: it says it will never take webhooks again, so none
      // are sent to it until its owner turns it back on (POST /v1/webhooks/{id}/enable).
      const gone = result.statusCode === 410 && delivery.endpointId !== null;
      await db.transaction(async (tx) => {
        await store.recordAttempt(record, { status: "failed", nextAttemptAt: null }, tx);
        await queue.bury(job, why, tx);
        if (gone && delivery.endpointId) {
          await store.setEndpointDisabled(
            delivery.endpointId,
            { at: clock.now(), reason: `its receiver answered 410 Gone (delivery ${delivery.id})` },
            { tx },
          );
        }
      });
      log.warn({ attempt, error: why, endpointDisabled: gone }, "webhook delivery failed for good");
    } else {
      const runAt = clock.now() + delayMs(retries, attempt);
      await db.transaction(async (tx) => {
        await store.recordAttempt(record, { status: "pending", nextAttemptAt: runAt }, tx);
        await queue.retry(job, { runAt, error: result.error ?? `HTTP ${result.statusCode}` }, tx);
      });
      log.info(
        { attempt, status: result.statusCode, error: result.error, runAt },
        "webhook attempt failed; will retry",
      );
    }
  }

  return {
    start() {
      stopping = false;
      if (controller.signal.aborted) controller = new AbortController();
      timer = setInterval(() => void fill(), settings.pollIntervalMs);
      void fill();
    },
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      // In-flight attempts are cut and handed back: they run again at the next start (receivers de-duplicate).
      controller.abort(new Error("shutting down"));
      await Promise.all([...running]);
    },
  };
}

const pick = (r: { durationMs: number; statusCode: number | null; error: string | null }) => ({
  durationMs: r.durationMs,
  statusCode: r.statusCode,
  error: r.error,
});
