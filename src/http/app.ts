/**
 * The HTTP application: body parsing, the one error handler, and the registration of every route
 * declared in routes.ts (the one list of them).
 */
import { createServer } from "node:http";
import multipart from "@fastify/multipart";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import { errors } from "../core/errors.js";
import { accessLog, recordRequest, redactUrl, requestIdOf } from "./access.js";
import { requireAdmin, requireKey } from "./auth.js";
import { admitBodies, BodyBudget } from "./body_budget.js";
import { answerClientError, MAX_PARAM_LENGTH, sendError, toReelayError } from "./errors.js";
import { type HotReads, hotReads } from "./hot_reads.js";
import { FORM_MEMORY_BYTES } from "./multipart.js";
import { lazyOpenApiDocument } from "./openapi.js";
import type { Route, RouteContext } from "./route.js";
import { registerDocsUi } from "./routes/docs.js";
import { healthz, readyz } from "./routes/health.js";
import { metrics } from "./routes/metrics.js";
import { registerWebUi } from "./routes/web_ui.js";
import { ROUTES } from "./routes.js";
import { schemaCompilersOnFirstUse } from "./schema_compilers.js";
import type { AppServices } from "./services.js";

export const JSON_BODY_LIMIT = 1024 * 1024;
/** How long an idle keep-alive connection stays open (Fastify's default). */
const KEEP_ALIVE_MS = 72_000;

declare module "fastify" {
  interface FastifyInstance {
    readonly reelayRoutes: readonly { method: string; url: string }[];
    /** Task polls answered beside the router so far (hot_reads.ts). */
    readonly reelayHotReads: () => number;
  }
}

/** The one error handler: every error becomes the error envelope; unknown routes a 404 naming them. */
function answerErrors(app: FastifyInstance): void {
  app.setErrorHandler((err, req, reply) => {
    const e = toReelayError(err, req.routeOptions.bodyLimit);
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
  /** Request body bytes held in memory at once (see body_budget.ts); default BODY_BUDGET_BYTES. */
  readonly bodyBudgetBytes?: number;
}

/**
 * One largest create body (32 MiB) and room beside it for ordinary ones. With HEAP_PER_BODY_BYTE
 * this is what `npm start`'s heap cap (REELAY_HEAP_MB) is sized for: see body_budget.ts.
 */
export const BODY_BUDGET_BYTES = 36 * 1024 * 1024;

/** Registers declared routes: the guard their auth asks for, their body limit, their handler. */
function addRoute(s: AppServices, ctx: RouteContext) {
  const guards = {
    none: undefined,
    signed: undefined,
    key: requireKey(s),
    admin: requireAdmin(s.adminTokenHash, s.keys, s.clock),
  };
  return (app: FastifyInstance, r: Route): void => {
    if (!r.handler) return; // registered by r.servedBy
    const onRequest = guards[r.auth];
    app.route({
      method: r.method,
      url: r.url,
      ...(onRequest ? { onRequest } : {}),
      ...(r.bodyLimit === undefined ? {} : { bodyLimit: r.bodyLimit }),
      handler: r.handler(s, ctx),
    });
  };
}

export function buildApp(s: AppServices, opts: AppOptions): FastifyInstance {
  const requestTimeout = opts.requestTimeoutMs ?? 30_000;
  const log = accessLog(opts.logger);
  let closing = false;
  let hot: HotReads | undefined;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit: JSON_BODY_LIMIT,
    schemaController: schemaCompilersOnFirstUse(),
    // Clients that hold a connection open without finishing a request are cut off.
    // Node checks these deadlines on a timer (every 30 s by default): check every second so a
    // request timeout means what it says.
    serverFactory: (handler) => {
      // The two task polls are answered beside the router (hot_reads.ts); the rest goes to Fastify.
      hot = hotReads(s, { log, closing: () => closing });
      const { take } = hot;
      const server = createServer(
        { requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 },
        (req, res) => {
          if (!take(req, res)) handler(req, res);
        },
      );
      // Fastify applies its keep-alive and idle-connection timeouts only to servers it makes
      // itself: without these, Node's 5 s keep-alive applied and idle connections were never cut.
      // An idle connection (no bytes at all) is closed after twice the request timeout.
      server.keepAliveTimeout = KEEP_ALIVE_MS;
      server.setTimeout(requestTimeout * 2);
      return server;
    },
    // What Node's parser and the router refuse before any route runs answers in the envelope too.
    clientErrorHandler: (err, socket) => answerClientError(err, socket, requestTimeout),
    frameworkErrors: (err, _req, reply) => sendError(reply, toReelayError(err)),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    return503OnClosing: true,
    // A request id in every log line and response; a caller's own X-Request-Id is kept if sane.
    requestIdHeader: false,
    genReqId: (req) => requestIdOf(req.headers["x-request-id"]),
    // Request logs name the route, never the raw URL: link signatures are credentials.
    logController: new LogController({ disableRequestLogging: true }),
  });
  app.decorate("reelayHotReads", () => hot?.served() ?? 0);
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  // Callback-style hooks: they run on every request, and an async hook costs a promise each time.
  app.addHook("onSend", (req, reply, payload, done) => {
    reply.header("x-request-id", req.id);
    done(null, payload);
  });
  app.addHook("onResponse", (req, reply, done) => {
    recordRequest(s, log, {
      reqId: req.id,
      method: req.method,
      url: req.url,
      route: req.routeOptions.url ?? "unmatched",
      status: reply.statusCode,
      ms: reply.elapsedTime,
      keyId: req.principal?.keyId,
    });
    done();
  });
  app.decorateRequest("principal", null);
  // Bodies are admitted by a byte budget before they are read: the heap holds a bounded amount.
  // A waiter must get its turn well before the request timeout would cut it.
  admitBodies(app, new BodyBudget(opts.bodyBudgetBytes ?? BODY_BUDGET_BYTES), {
    waitMs: Math.min(5000, requestTimeout / 3),
    formMemory: (req) =>
      typeof req.isMultipart === "function" && req.isMultipart() ? FORM_MEMORY_BYTES : null,
  });
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

  // Every route, from the one list in routes.ts.
  const document = lazyOpenApiDocument(ROUTES, { publicUrl: s.publicUrl, version: s.version });
  const add = addRoute(s, { document });
  for (const r of ROUTES) if (r.scope === undefined) add(app, r);
  registerDocsUi(app, document);
  registerWebUi(app, s.publicUrl, (scope) => {
    for (const r of ROUTES) if (r.scope === "web") add(scope, r);
  });
  // The routes that take multipart/form-data (the official OpenAI client's bodies), in a scope of
  // their own: the plugin's parser and per-request hook stay off every other route. Elsewhere a
  // multipart body is read as JSON like any other, and refused as not JSON.
  app.register(async (scope) => {
    await scope.register(multipart);
    for (const r of ROUTES) if (r.scope === "form") add(scope, r);
  });
  // Provider callbacks: bodies stay bytes, since the providers' signatures cover the exact bytes.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
    for (const r of ROUTES) if (r.scope === "raw") add(scope, r);
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
    schemaController: schemaCompilersOnFirstUse(),
  });
  answerErrors(app);
  const add = addRoute(s, { document: () => ({}) });
  for (const r of [healthz, readyz, metrics]) add(app, r);
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
