/**
 * Every route Reelay serves, in one list: app.ts registers them, openapi.ts documents them, and
 * the authz and fuzz tests walk them. A new route is a file in routes/ and a line here.
 */
import type { Route } from "./route.js";
import {
  adminAccountGet,
  adminAccountUsage,
  adminCreditsTopUp,
  adminPrices,
  v1Usage,
} from "./routes/accounts.js";
import { adminChannels } from "./routes/admin_channels.js";
import { adminKeysCreate, adminKeysList, adminKeysRevoke } from "./routes/admin_keys.js";
import { adminStatsNow } from "./routes/admin_stats_now.js";
import { adminStatsOverTime } from "./routes/admin_stats_over_time.js";
import { adminStatsTasks } from "./routes/admin_stats_tasks.js";
import { adminTaskGet } from "./routes/admin_task_get.js";
import { adminTasks } from "./routes/admin_tasks.js";
import { adminWebhookDeliveriesList, adminWebhookDeliveryRetry } from "./routes/admin_webhook_deliveries.js";
import { v1VideoCancel, v1VideosCancel } from "./routes/cancel.js";
import {
  soraCharactersCreate,
  soraCharactersGet,
  v1VideosCharactersCreate,
  v1VideosCharactersGet,
} from "./routes/characters.js";
import { openApiJson } from "./routes/docs.js";
import { filesGet } from "./routes/files_get.js";
import { healthz, readyz } from "./routes/health.js";
import { metrics } from "./routes/metrics.js";
import { adminTaskLedger, v1VideoLedger } from "./routes/task_ledger.js";
import { v1Callbacks } from "./routes/v1_callbacks.js";
import { v1ChatCompletions } from "./routes/v1_chat_completions.js";
import { v1Gallery } from "./routes/v1_gallery.js";
import { v1Me } from "./routes/v1_me.js";
import { v1ModelsList } from "./routes/v1_models_list.js";
import { v1VideoEvents, v1VideosEvents } from "./routes/v1_task_events.js";
import { v1VideoCreate } from "./routes/v1_video_create.js";
import { v1VideoList } from "./routes/v1_video_list.js";
import { v1VideoQuery } from "./routes/v1_video_query.js";
import { v1VideoQuote } from "./routes/v1_video_quote.js";
import { v1VideoRemix } from "./routes/v1_video_remix.js";
import { v1VideoStoryboards } from "./routes/v1_video_storyboards.js";
import { v1VideosContent } from "./routes/v1_videos_content.js";
import { v1VideosCreate } from "./routes/v1_videos_create.js";
import { v1VideosDelete } from "./routes/v1_videos_delete.js";
import { v1VideosList } from "./routes/v1_videos_list.js";
import { v1VideosRemix } from "./routes/v1_videos_remix.js";
import { v1VideosRetrieve } from "./routes/v1_videos_retrieve.js";
import { v1VideosEdits, v1VideosExtensions } from "./routes/v1_videos_source_edits.js";
import {
  v1WebhooksCreate,
  v1WebhooksDelete,
  v1WebhooksEnable,
  v1WebhooksList,
  v1WebhooksSecret,
} from "./routes/v1_webhooks.js";
import { webUiFiles, webUiPage } from "./routes/web_ui.js";

/** In the order the OpenAPI document lists them. */
export const ROUTES: readonly Route[] = [
  healthz,
  readyz,
  metrics,
  openApiJson,
  adminKeysCreate,
  adminKeysList,
  adminKeysRevoke,
  v1VideoCreate,
  v1VideoQuote,
  v1VideoRemix,
  v1VideoStoryboards,
  v1Gallery,
  v1VideoList,
  v1VideoQuery,
  v1VideoLedger,
  v1VideoEvents,
  v1VideosCreate,
  v1VideosList,
  v1VideosRetrieve,
  v1VideosEvents,
  v1VideosDelete,
  v1VideosContent,
  v1VideosRemix,
  v1VideosEdits,
  v1VideosExtensions,
  v1WebhooksCreate,
  v1WebhooksList,
  v1WebhooksDelete,
  v1WebhooksEnable,
  v1WebhooksSecret,
  v1Callbacks,
  adminWebhookDeliveriesList,
  adminWebhookDeliveryRetry,
  soraCharactersCreate,
  soraCharactersGet,
  v1VideosCharactersCreate,
  v1VideosCharactersGet,
  v1VideoCancel,
  v1VideosCancel,
  adminCreditsTopUp,
  adminAccountGet,
  adminAccountUsage,
  adminPrices,
  adminTasks,
  adminTaskGet,
  adminTaskLedger,
  adminChannels,
  adminStatsNow,
  adminStatsOverTime,
  adminStatsTasks,
  v1Usage,
  v1Me,
  v1ModelsList,
  v1ChatCompletions,
  filesGet,
  webUiPage,
  webUiFiles,
];
