import type { Accounts, KeyStore, RateLimiter } from "../core/accounts/ports.js";
import type { ModelTable } from "../core/catalogue/models.js";
import type { PriceTable } from "../core/catalogue/pricing.js";
import type { CharacterService } from "../core/characters/characters.js";
import type { JobQueue } from "../core/jobs/ports.js";
import type { LinkSigner } from "../core/media/links.js";
import type { BlobStore, MediaInspector } from "../core/media/ports.js";
import type { Clock, Database, HttpMetrics } from "../core/ports.js";
import type { StatsStore } from "../core/stats/ports.js";
import type { StoryboardStore } from "../core/storyboards/ports.js";
import type { TaskEngine } from "../core/tasks/engine.js";
import type { TaskFeed, TaskFeedStore } from "../core/tasks/feed.js";
import type { FeedHub } from "../core/tasks/feed_hub.js";
import type { TaskStore } from "../core/tasks/ports.js";
import type { CallbackReceiver } from "../core/upstream/callbacks.js";
import type { ChannelRouter } from "../core/upstream/channels.js";
import type { TaskAttemptStore, UpstreamTaskStore } from "../core/upstream/ports.js";
import type { WebhookService } from "../core/webhooks/webhooks.js";

/** What the HTTP layer needs; main/container.ts builds it from the parsed config. */
export interface AppServices {
  readonly engine: TaskEngine;
  readonly keys: KeyStore;
  readonly models: ModelTable;
  readonly links: LinkSigner;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  /** SHA-256 of the admin token. */
  readonly adminTokenHash: string;
  readonly db: Database;
  readonly queue: JobQueue;
  readonly inspector: MediaInspector;
  readonly rateLimiter: RateLimiter;
  readonly accounts: Accounts;
  /** Whether creates are charged (a price table is configured). */
  readonly billingEnabled: boolean;
  readonly prices: PriceTable | null;
  /** Defaults for keys without their own limits; 0: no limit. */
  readonly limits: { readonly ratePerMin: number; readonly burst: number; readonly maxActive: number };
  readonly characters: CharacterService;
  readonly webhooks: WebhookService;
  /** The operator's dashboard: rolled-up figures, and live counts of tasks by status. */
  readonly stats: {
    readonly store: StatsStore;
    readonly tasks: Pick<TaskStore, "countByStatus">;
    readonly intervalMs: number;
    readonly settleMs: number;
  };
  /** Checks a create's image links against the SSRF rules (400 `image_refused` naming the image). */
  readonly imageLinks: { check(urls: readonly string[], signal: AbortSignal): Promise<void> };
  /** Channels (the local renderer, upstream accounts) and their health. */
  readonly router: ChannelRouter;
  /** Which channel took each task, and its upstream id. */
  readonly upstreamTasks: UpstreamTaskStore;
  /** Each task's upstream attempts (shown as `attempts[]`). */
  readonly attempts: TaskAttemptStore;
  /** Which child task each started shot of a storyboard is (the query's `shots`). */
  readonly storyboards: StoryboardStore;
  /** Provider callbacks (channels with `callbacks` on): checked, then the task polled at once. */
  readonly callbacks: CallbackReceiver;
  /** Base of absolute links (REELAY_PUBLIC_URL). */
  readonly publicUrl: string;
  /** Reelay's version, from package.json. */
  readonly version: string;
  readonly metrics: HttpMetrics;
  /** How long a non-streaming chat completion waits for its video, seconds. */
  readonly chatWaitS: number;
  /** Task feeds and the live event streams that read them. */
  readonly events: {
    readonly feed: TaskFeed;
    readonly store: TaskFeedStore;
    readonly hub: FeedHub;
    readonly heartbeatMs: number;
    readonly maxStreamsPerKey: number;
  };
  readonly uploads: {
    /** Where multipart files are spooled before they are stored. */
    readonly spoolDir: string;
    readonly maxImageBytes: number;
    readonly maxVideoBytes: number;
  };
}
