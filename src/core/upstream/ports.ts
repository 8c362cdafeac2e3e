/**
 * Upstream providers: video models reached over HTTP, whose tasks run for minutes. A task is
 * submitted once (by a render job), then polled by the upstream poller until it ends, and its
 * result is re-hosted in Reelay's storage. Ports here; adapters in src/adapters/providers/.
 */
import type { Tx } from "../ports.js";
import type { VideoRequest } from "../tasks/task.js";

/**
 * The upstream APIs Reelay speaks, one adapter each (src/adapters/providers/). A channel's `kind`
 * is one of these or `local` (the built-in renderer).
 */
export const UPSTREAM_KINDS = [
  "unified",
  "openai",
  "gemini",
  "seedance",
  "kling",
  "dashscope",
  "minimax",
  "luma",
  "xai",
  "newapi",
  "replicate",
  "runway",
  "openrouter",
  "fal",
  "vertex",
  "comfyui",
] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number];
export type ChannelKind = "local" | UpstreamKind;

/**
 * The kinds whose providers push a task's changes to a URL given at create (`callback_url`,
 * `fal_webhook`, `webhook`): a channel of these may turn `callbacks` on.
 */
export const CALLBACK_KINDS: ReadonlySet<UpstreamKind> = new Set([
  "kling",
  "seedance",
  "minimax",
  "fal",
  "replicate",
]);
export const CHANNEL_KINDS: readonly ChannelKind[] = ["local", ...UPSTREAM_KINDS];

/**
 * What kind of failure a provider's error is, whatever its own words: decides retry, failover and
 * refund. `content_policy` and `invalid_request` are the request's (never retried elsewhere);
 * `auth`, `quota` and `overloaded` the channel's (fail over, cool down); the rest the provider's.
 */
export type UpstreamErrorClass =
  | "content_policy"
  | "invalid_request"
  | "auth"
  | "quota"
  | "overloaded"
  | "timeout"
  | "upstream_internal"
  | "result_unavailable";

/** A provider's own usage figures for a task. */
export interface UpstreamUsage {
  readonly tokens?: number;
  readonly seconds?: number;
}

/** Reelay's view of an upstream task's state. */
export type UpstreamState = "queued" | "running" | "completed" | "failed" | "expired";

export interface UpstreamStatus {
  readonly state: UpstreamState;
  /** The status string as the upstream wrote it (null when it sent none). */
  readonly raw: string | null;
  /** False when the upstream's status was unknown or missing: treated as still running. */
  readonly known: boolean;
  /** 0–100, when the upstream says. */
  readonly progress: number | null;
  /** The upstream's own failure code and reason, when it failed; `class` where the adapter knows it. */
  readonly error: {
    readonly code: string | null;
    readonly message: string;
    readonly class?: UpstreamErrorClass;
  } | null;
  /** What the provider reports it used for the task (tokens, seconds), when it says. */
  readonly usage?: UpstreamUsage;
  readonly enhancedPrompt: string | null;
}

export interface SubmitContext {
  /**
   * Reelay's task id: sent as the idempotency key, so a re-sent create is recognised. For a task
   * failed over to another channel, the attempt number follows (`<id>-2`): a channel on the same
   * upstream must not hand back the task that failed.
   */
  readonly taskId: string;
  /** The model name the channel knows (after its mapping). */
  readonly upstreamModel: string;
  /** Local copies of uploaded reference images (see GenerateContext.files). */
  readonly imageFiles: readonly string[];
  /** This attempt's scratch directory (for images the upstream needs as bytes). */
  readonly workDir: string;
  readonly signal: AbortSignal;
  /**
   * Where the provider may push the task's changes (the channel has `callbacks` on); absent: the
   * task is polled only. A callback only makes Reelay poll the task at once: it is never trusted
   * for the task's state.
   */
  readonly callbackUrl?: string;
}

/** A callback as it came in: its headers (lower-case names) and body, unparsed. */
export interface CallbackRequest {
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Buffer;
  readonly now: number;
  readonly signal: AbortSignal;
}

/**
 * What a provider makes of a callback: a URL check to answer (MiniMax's challenge), news of one
 * of its tasks (verified where the provider signs its callbacks), or a refusal (bad or stale
 * signature, a body that is not its callback).
 */
export type CallbackVerdict =
  | { readonly kind: "challenge"; readonly answer: Record<string, unknown> }
  | { readonly kind: "task"; readonly upstreamId: string | null }
  | { readonly kind: "refused"; readonly reason: string };

export interface FetchedResult {
  /** The video, inside workDir, checked to be an MP4 (content type and magic bytes). */
  readonly videoPath: string;
  /** The upstream's thumbnail inside workDir, when it has one. */
  readonly thumbnailPath: string | null;
  /** Whether the upstream says the video carries a watermark (`has_watermark`); null: it does not say. */
  readonly watermarked: boolean | null;
}

/**
 * One upstream API. Methods throw ReelayErrors: `upstream_rejected` (retryable when the channel
 * is at fault: 429, 5xx, unreachable, a refused credential), `upstream_outcome_unknown` (the create
 * may have been taken), `upstream_bad_content` for a download that is not a video.
 */
export interface UpstreamProvider {
  readonly kind: UpstreamKind;
  /** Whether the upstream honours `Idempotency-Key`, so an unanswered create may be sent again. */
  readonly idempotent: boolean;
  submit(request: VideoRequest, ctx: SubmitContext): Promise<{ upstreamId: string; status: UpstreamStatus }>;
  /** The task's state now; a transport failure throws (retryable), it never reads as "failed". */
  poll(
    upstreamId: string,
    signal: AbortSignal,
  ): Promise<{ status: UpstreamStatus; retryAfterS: number | null }>;
  /** Downloads a completed task's video (and thumbnail, when there is one) into `workDir`. */
  fetchResult(upstreamId: string, workDir: string, signal: AbortSignal): Promise<FetchedResult>;
  /**
   * Remixes a video this upstream made (`sourceUpstreamId`), where its API can; absent otherwise
   * (Reelay then remixes its re-hosted copy with the local renderer).
   */
  remix?(
    sourceUpstreamId: string,
    request: VideoRequest,
    ctx: SubmitContext,
  ): Promise<{ upstreamId: string; status: UpstreamStatus }>;
  /** Asks the upstream to stop the task; best effort (an upstream without cancel ignores it). */
  cancel(upstreamId: string, signal: AbortSignal): Promise<void>;
  /**
   * Checks a callback the provider pushed (kinds in CALLBACK_KINDS): its signature where the
   * provider signs (fal, Replicate), its shape, and which upstream task it is about.
   */
  verifyCallback?(req: CallbackRequest): Promise<CallbackVerdict>;
  /** Ends connections the adapter keeps open (a ComfyUI server's event socket); absent: none. */
  close?(): Promise<void>;
}

/** How one attempt at a task ended (or that it still runs). */
export type AttemptOutcome = "running" | "completed" | "failed" | "cancelled";

/**
 * One submission of a task to an upstream channel that accepted it. A task that fails upstream
 * for a reason that is not the request's is submitted again to another channel (failover.ts):
 * each accepted submission is one attempt, numbered from 1.
 */
export interface TaskAttempt {
  readonly number: number;
  readonly channelId: string;
  readonly upstreamId: string | null;
  readonly outcome: AttemptOutcome;
  /** Why it failed: the class (taxonomy.ts) and the provider's own code and message. */
  readonly error: {
    readonly class: UpstreamErrorClass;
    readonly code: string | null;
    readonly message: string;
  } | null;
  /** What the provider reported it used, when it says. */
  readonly usage: UpstreamUsage | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** Credits this attempt cost the user: the settled charge for the one that delivered, else 0. */
  readonly credits: number;
}

/** What ends the running attempt of a task. */
export interface AttemptEnd {
  readonly outcome: Exclude<AttemptOutcome, "running">;
  readonly error?: TaskAttempt["error"];
  readonly usage?: UpstreamUsage | null;
  readonly credits?: number;
}

/** The attempts of every task (its lineage across channels), written with the task's moves. */
export interface TaskAttemptStore {
  /** Records a new running attempt (the next number) and returns its number. */
  started(a: { taskId: string; channelId: string; upstreamId: string; now: number }, tx: Tx): Promise<number>;
  /** Ends the task's running attempt, if it has one; false when none was running. */
  ended(taskId: string, end: AttemptEnd & { now: number }, tx: Tx): Promise<boolean>;
  /** The task's attempts, first first. */
  list(taskId: string, tx?: Tx): Promise<readonly TaskAttempt[]>;
  /** The attempts of each of `taskIds` that has some (one query, for listings). */
  listMany(taskIds: readonly string[]): Promise<Map<string, TaskAttempt[]>>;
  /** Forgets a deleted task's attempts. */
  forget(taskId: string, tx: Tx): Promise<void>;
}

/** Where an upstream task stands in Reelay. */
export type UpstreamPhase = "submitting" | "polling" | "done";

/** The record that pins a task to the channel that accepted it. */
export interface UpstreamTaskRecord {
  readonly taskId: string;
  readonly channelId: string;
  /** Null while the create is in flight (or its answer was lost). */
  readonly upstreamId: string | null;
  readonly phase: UpstreamPhase;
  readonly submittedAt: number;
  readonly nextPollAt: number;
  /** Polls that failed in a row (network, 5xx, garbage): they delay the next poll, never fail the task. */
  readonly pollErrors: number;
  /** Downloads of the result that failed. */
  readonly fetchErrors: number;
  /** The status the upstream last reported, as it wrote it. */
  readonly lastStatus: string | null;
  readonly deadlineAt: number;
}

export interface UpstreamTaskStore {
  /** Records that the task's create is being sent to `channelId` (before sending: a crash then leaves a trace). */
  begin(r: { taskId: string; channelId: string; now: number; deadlineAt: number }, tx?: Tx): Promise<void>;
  get(taskId: string, tx?: Tx): Promise<UpstreamTaskRecord | undefined>;
  /** The records of those of `taskIds` that have one, by task id (one query, for listings). */
  getMany(taskIds: readonly string[]): Promise<Map<string, UpstreamTaskRecord>>;
  /** The upstream accepted the task: record its id and start polling at `nextPollAt`. */
  accepted(
    taskId: string,
    r: { upstreamId: string; status: string | null; nextPollAt: number },
    tx?: Tx,
  ): Promise<void>;
  /** Forgets a create that was refused (the task may go to another channel). */
  drop(taskId: string, tx?: Tx): Promise<void>;
  /**
   * Unpins a task from the upstream task `at` names, whatever its phase: it failed there and goes
   * to another channel (failover), so its next render job submits it afresh. False when the task
   * is no longer pinned there (another poller failed it over first): nothing changes. The
   * attempt's history stays in TaskAttemptStore.
   */
  release(taskId: string, at: { channelId: string; upstreamId: string | null }, tx: Tx): Promise<boolean>;
  /**
   * Leases up to `limit` polling tasks that are due, oldest due first: their next poll moves to
   * `now + leaseMs`, so another poller (or this one) does not take them again meanwhile; they come
   * back as leased (`nextPollAt` is the lease's end), in no set order. In `tx` when given, else in
   * a transaction of its own.
   */
  claimDue(opts: { limit: number; now: number; leaseMs: number }, tx?: Tx): Promise<UpstreamTaskRecord[]>;
  /** Records poll outcomes of tasks still polling, in order, in one transaction (`tx` when given). */
  saveMany(
    rows: readonly {
      taskId: string;
      nextPollAt: number;
      pollErrors: number;
      fetchErrors: number;
      lastStatus: string | null;
    }[],
    tx?: Tx,
  ): Promise<void>;
  /** Keeps a leased polling task from other pollers until `until` (its result is being downloaded). */
  hold(taskId: string, until: number): Promise<void>;
  /**
   * Makes a polling task due at `now` (a provider's callback said it changed); false when it is not
   * being polled or is already due. A task leased by another poller may so be polled twice at
   * once: harmless, since what a poll finds goes through the lifecycle, which ends a task once.
   */
  expedite(taskId: string, now: number): Promise<boolean>;
  /**
   * `expedite` for the task a channel knows as `upstreamId` (a provider's event names its own id);
   * the task's id when one was made due.
   */
  expediteUpstream(channelId: string, upstreamId: string, now: number): Promise<string | null>;
  /** Ends polling of the task (it finished, failed or was cancelled); the record stays for admins. */
  finish(taskId: string, tx?: Tx): Promise<void>;
  /** Polling tasks per channel (for concurrency caps and the admin view). */
  inFlight(): Promise<Map<string, number>>;
  /** Makes every polling task due now (embedded mode at start: the earlier process's leases are void). */
  releaseAll(now: number): Promise<number>;
}

export interface ChannelHealth {
  readonly channelId: string;
  /** Failures in a row. */
  readonly failures: number;
  /** Epoch ms until which the channel gets no new tasks; 0: none. */
  readonly cooldownUntil: number;
  readonly lastError: string | null;
  readonly lastFailureAt: number | null;
  readonly lastSuccessAt: number | null;
}

/** Channel health, shared by every process (so all of them see a channel's cool-down). */
export interface ChannelHealthStore {
  all(): Promise<Map<string, ChannelHealth>>;
  /** A failure: counts it and, once `failures` reaches `threshold`, sets the cool-down. */
  failure(
    channelId: string,
    e: { error: string; now: number; threshold: number; cooldownMs: number },
  ): Promise<ChannelHealth>;
  /** A success ends any cool-down and resets the count. */
  success(channelId: string, now: number): Promise<void>;
}
