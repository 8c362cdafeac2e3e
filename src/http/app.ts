/**
 * The HTTP application: body parsing, the one error handler, and every route, listed here.
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import multipart from "@fastify/multipart";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { errors } from "../core/errors.js";
import { sendError, toReelayError } from "./errors.js";
import { accounts } from "./routes/accounts.js";
import { adminChannels } from "./routes/admin_channels.js";
import { adminKeys } from "./routes/admin_keys.js";
import { adminTasks } from "./routes/admin_tasks.js";
import { adminWebhookDeliveries } from "./routes/admin_webhook_deliveries.js";
import { cancel } from "./routes/cancel.js";
import { characters } from "./routes/characters.js";
import { docs } from "./routes/docs.js";
import { filesGet } from "./routes/files_get.js";
import { health } from "./routes/health.js";
import { metrics } from "./routes/metrics.js";
import { v1ChatCompletions } from "./routes/v1_chat_completions.js";
import { v1Gallery } from "./routes/v1_gallery.js";
import { v1Me } from "./routes/v1_me.js";
import { v1ModelsList } from "./routes/v1_models_list.js";
import { v1VideoCreate } from "./routes/v1_video_create.js";
import { v1VideoList } from "./routes/v1_video_list.js";
import { v1VideoQuery } from "./routes/v1_video_query.js";
import { v1VideoRemix } from "./routes/v1_video_remix.js";
import { v1VideosContent } from "./routes/v1_videos_content.js";
import { v1VideosCreate } from "./routes/v1_videos_create.js";
import { v1VideosDelete } from "./routes/v1_videos_delete.js";
import { v1VideosList } from "./routes/v1_videos_list.js";
import { v1VideosRemix } from "./routes/v1_videos_remix.js";
import { v1VideosRetrieve } from "./routes/v1_videos_retrieve.js";
import { v1VideosEdits, v1VideosExtensions } from "./routes/v1_videos_source_edits.js";
import { v1Webhooks } from "./routes/v1_webhooks.js";
import { webUi } from "./routes/web_ui.js";
import type { AppServices } from "./services.js";

export const JSON_BODY_LIMIT = 1024 * 1024;

declare module "fastify" {
  interface FastifyInstance {
    readonly reelayRoutes: readonly { method: string; url: string }[];
  }
}

/** Link signatures are credentials: keep them out of request logs. */
const redactUrl = (url: string): string => url.replace(/([?&]sig=)[^&]*/g, "$1[redacted]");

/** The one error handler: every error becomes the error envelope; unknown routes a 404 naming them. */
function answerErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toReelayError(err);
    if (e.code === "internal_error") req.log.error({ err }, "unhandled error");
    return sendError(reply, e);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, errors.routeNotFound(req.method, redactUrl(req.url))),
  );
}

export interface AppOptions {
  readonly logger?: FastifyBaseLogger;
  /** Time a client has to send a whole request (headers and body); slow-loris clients are cut. */
  readonly requestTimeoutMs?: number;
}

export function buildApp(s: AppServices, opts: AppOptions): FastifyInstance {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: JSON_BODY_LIMIT,
    // Clients that hold a connection open without finishing a request are cut off.
    // Node checks these deadlines on a timer (every 30 s by default): check every second so a
    // request timeout means what it says.
    serverFactory: (handler) =>
      createServer(
        { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
        handler,
      ),
    requestTimeout,
    // An idle connection (no bytes at all) is closed after twice the request timeout.
    connectionTimeout: requestTimeout * 2,
    return503OnClosing: true,
    // A request id in every log line and response; a caller's own X-Request-Id is kept if sane.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
    },
    // Request logs name the route, never the raw URL: link signatures are credentials.
    logController: new LogController({ disableRequestLogging: true }),
  });
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook("onSend", (req, reply, payload, done) => {
    reply.header("x-request-id", req.id);
    done(null, payload);
  });
  app.addHook("onResponse", (req, reply, done) => {
    s.metrics.observeRequest(
      req.method,
      req.routeOptions.url ?? "unmatched",
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    req.log.info(
      {
        method: req.method,
        url: redactUrl(req.url),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      "request",
    );
    done();
  });
  app.decorateRequest("principal", null);
  // Every route as registered, for the authz table test and the OpenAPI document to check against.
  const routes: { method: string; url: string }[] = [];
  app.addHook("onRoute", (r) => {
    for (const method of [r.method].flat()) if (method !== "HEAD") routes.push({ method, url: r.url });
  });
  app.decorate("reelayRoutes", routes);

  // Every body is read as JSON, whatever its Content-Type says: `curl -d` sends
  // application/x-www-form-urlencoded, and a clear "not JSON" beats a bare 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === "") return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (e) {
      done(errors.invalidJson((e as Error).message), undefined);
    }
  });

  answerErrors(app);

  // Every route, in one place.
  health(app, s);
  docs(app, s);
  metrics(app, s);
  adminKeys(app, s);
  v1VideoCreate(app, s);
  v1VideoQuery(app, s);
  v1VideoList(app, s);
  v1VideoRemix(app, s);
  v1Gallery(app, s);
  v1VideosList(app, s);
  v1VideosRetrieve(app, s);
  v1VideosDelete(app, s);
  v1VideosContent(app, s);
  v1VideosRemix(app, s);
  v1ModelsList(app, s);
  v1ChatCompletions(app, s);
  cancel(app, s);
  accounts(app, s);
  v1Me(app, s);
  adminTasks(app, s);
  v1Webhooks(app, s);
  adminWebhookDeliveries(app, s);
  adminChannels(app, s);
  filesGet(app, s);
  webUi(app, s);
  // The routes that take multipart/form-data (the official OpenAI client's bodies), in a scope of
  // their own: the plugin's parser and per-request hook stay off every other route. Elsewhere a
  // multipart body is read as JSON like any other, and refused as not JSON.
  app.register(async (scope) => {
    await scope.register(multipart);
    v1VideosCreate(scope, s);
    v1VideosEdits(scope, s);
    v1VideosExtensions(scope, s);
    characters(scope, s);
  });
  return app;
}

/**
 * What a `reelay worker` serves when REELAY_WORKER_PORT is set: liveness, readiness and its own
 * Prometheus metrics (renders, provider calls and errors happen in workers), nothing else.
 */
export function buildOpsApp(s: AppServices, opts: AppOptions): FastifyInstance {
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
  });
  answerErrors(app);
  health(app, s);
  metrics(app, s);
  return app;
}

/**
 * Stops the server: no new connections, idle keep-alive ones closed at once, in-flight requests
 * (a long download, say) given `graceMs` to finish before their connections are cut. Without the
 * cut, one client that stops reading holds shutdown open for ever.
 */
export async function closeServer(app: FastifyInstance, graceMs = 10_000): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}
