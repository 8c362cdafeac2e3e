/**
 * The two task polls answered beside the router: `GET /v1/video/query?id=<id>` and
 * `GET /v1/videos/<id>`. They are most of a gateway's requests (every client polls every task
 * until it ends) and each is a cached read, so the framework around them was most of their cost:
 * measured on 2 cores, an empty Fastify route took ≈ 1.4× the CPU of a bare node:http answer per
 * request, and a poll through Reelay's routes ≈ 3×, spread over routing, hooks, the reply pipeline
 * and their allocations (issue 21; bench/http.ts).
 *
 * Only the transport differs: the same authentication (`principalFor`), the same answers (made
 * by their routes' own code, as JSON text kept per state of a cached task: answer_memo.ts), the
 * same error envelope and headers,
 * request id, metrics and one access-log line (access.ts). A request is taken only when it is
 * exactly such a poll: GET, that path, only `id` in the query, a well-formed task id, no body,
 * the server not closing. Anything else, including every odd case of those two routes, goes to
 * Fastify untouched, which answers it as before.
 */
import { channel } from "node:diagnostics_channel";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "../core/errors.js";
import { isTaskId } from "../core/ids.js";
import { type AccessLog, recordRequest, requestIdOf } from "./access.js";
import { answerMemo } from "./answer_memo.js";
import { principalFor } from "./auth.js";
import { envelope, errorAnswer, toReelayError } from "./errors.js";
import { videoQueryText } from "./routes/v1_video_query.js";
import { retrieveVideoText } from "./routes/v1_videos_retrieve.js";
import type { AppServices } from "./services.js";

const QUERY_PREFIX = "/v1/video/query?id=";
const VIDEOS_PREFIX = "/v1/videos/";
const JSON_TYPE = "application/json; charset=utf-8";

/**
 * Each answer, `{ method, route, status }`, for whoever listens (the test run's check that
 * openapi.json declares every status a route answers: test/answers/recorder.mjs).
 */
export const hotReadAnswered = channel("reelay.hot-read.answered");

type Hot = { readonly route: "/v1/video/query" | "/v1/videos/:id"; readonly id: string };

/** The poll `req` is, when it is exactly one of the two; else undefined (Fastify's to answer). */
export function hotRead(req: IncomingMessage): Hot | undefined {
  const url = req.url;
  if (req.method !== "GET" || url === undefined) return undefined;
  const length = req.headers["content-length"];
  if ((length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined)
    return undefined;
  let route: Hot["route"];
  let raw: string;
  if (url.startsWith(QUERY_PREFIX)) {
    route = "/v1/video/query";
    raw = url.slice(QUERY_PREFIX.length);
  } else if (url.startsWith(VIDEOS_PREFIX)) {
    route = "/v1/videos/:id";
    raw = url.slice(VIDEOS_PREFIX.length);
  } else return undefined;
  // Only the id's own characters, percent-encoded or not: `&`, `?`, `/`, `#` and `+` are Fastify's.
  if (!/^[A-Za-z0-9._~:%-]{1,200}$/.test(raw)) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  return isTaskId(id) ? { route, id } : undefined;
}

export interface HotReads {
  /** Run before Fastify's handler: true when it took the request (and will answer it), false when Fastify should. */
  take(req: IncomingMessage, res: ServerResponse): boolean;
  /** Requests taken so far (the app shows it as `reelayHotReads`, for tests and benchmarks). */
  served(): number;
}

/** The hot reads of an app: see the top of this file. */
export function hotReads(s: AppServices, opts: { log: AccessLog; closing(): boolean }): HotReads {
  let served = 0;
  const queryTexts = answerMemo();
  const videoTexts = answerMemo();
  const answer = async (req: IncomingMessage, res: ServerResponse, hot: Hot, started: number) => {
    const reqId = requestIdOf(req.headers["x-request-id"]);
    let status = 200;
    let keyId: string | undefined;
    try {
      const principal = await principalFor(req.headers.authorization, s);
      keyId = principal.keyId;
      const body =
        hot.route === "/v1/video/query"
          ? await videoQueryText(s, principal, { id: hot.id }, queryTexts)
          : await retrieveVideoText(s, principal, hot.id, videoTexts);
      res.writeHead(200, {
        "content-type": JSON_TYPE,
        "x-request-id": reqId,
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    } catch (err) {
      const e = toReelayError(err);
      if (e.code === ErrorCode.internal) opts.log.logger?.error({ reqId, err }, "unhandled error");
      const a = errorAnswer(e);
      const body = JSON.stringify(envelope(e));
      status = a.status;
      res.writeHead(a.status, {
        ...a.headers,
        "x-request-id": reqId,
        "content-length": Buffer.byteLength(body),
      });
      res.end(body);
    }
    if (hotReadAnswered.hasSubscribers) hotReadAnswered.publish({ method: "GET", route: hot.route, status });
    recordRequest(s, opts.log, {
      reqId,
      method: "GET",
      url: req.url ?? "",
      route: hot.route,
      status,
      ms: performance.now() - started,
      keyId,
    });
  };
  const take = (req: IncomingMessage, res: ServerResponse): boolean => {
    const hot = opts.closing() ? undefined : hotRead(req);
    if (hot === undefined) return false;
    served++;
    void answer(req, res, hot, performance.now()).catch((err: unknown) => {
      // Only a failure to write the answer gets here (the socket is gone): nothing left to tell.
      opts.log.logger?.warn({ err }, "hot read not answered");
      if (!res.headersSent) res.destroy();
    });
    return true;
  };
  return { take, served: () => served };
}
