/**
 * What every answered request leaves behind, whichever way it was served (Fastify's routes or the
 * hot reads beside them): its request id, its latency in the metrics, and one access-log line.
 */
import { randomUUID } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { AppServices } from "./services.js";

/** A request's id: the caller's own X-Request-Id when it is sane, else a new UUID. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === "string" && /^[A-Za-z0-9._:-]{1,64}$/.test(given) ? given : randomUUID();
}

/** A query parameter's name as the query parser reads it (`%73ig` is `sig`). */
function queryName(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "));
  } catch {
    return raw;
  }
}

/** Query parameters that are credentials: link signatures, provider callback tokens. */
const SECRET_PARAMS = new Set(["sig", "token"]);

/**
 * Link signatures are credentials: keep them out of request logs. Names are compared once
 * decoded, as the route reads them, so `%73ig=` is redacted like `sig=`.
 */
export const redactUrl = (url: string): string => {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split("&")
    .map((p) => {
      const eq = p.indexOf("=");
      return eq >= 0 && SECRET_PARAMS.has(queryName(p.slice(0, eq))) ? `${p.slice(0, eq)}=[redacted]` : p;
    });
  return `${url.slice(0, q + 1)}${params.join("&")}`;
};

/** Where access-log lines go: the app's logger when its level lets info lines through, else nowhere. */
export interface AccessLog {
  readonly logger: FastifyBaseLogger | undefined;
}

export function accessLog(logger: FastifyBaseLogger | undefined): AccessLog {
  // The level is fixed for the life of the process: read it once, not per request.
  const logs = logger !== undefined && ["trace", "debug", "info"].includes(logger.level);
  return { logger: logs ? logger : undefined };
}

export interface AnsweredRequest {
  readonly reqId: string;
  readonly method: string;
  readonly url: string;
  /** The route's pattern (`/v1/videos/:id`), or `unmatched`. */
  readonly route: string;
  readonly status: number;
  readonly ms: number;
  readonly keyId: string | undefined;
}

/**
 * The request's latency in the metrics and its one access-log line (Fastify's own two are off):
 * what an operator needs to find it, and whose key it was (its id, never the key). The line is
 * skipped before it is built when the level is above info.
 */
export function recordRequest(s: AppServices, log: AccessLog, r: AnsweredRequest): void {
  s.metrics.observeRequest(r.method, r.route, r.status, r.ms / 1000);
  log.logger?.info(
    {
      reqId: r.reqId,
      method: r.method,
      url: redactUrl(r.url),
      status: r.status,
      ms: Math.round(r.ms),
      ...(r.keyId === undefined ? {} : { keyId: r.keyId }),
    },
    "request",
  );
}
