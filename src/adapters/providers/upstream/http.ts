/**
 * HTTP to one upstream channel: a keep-alive connection pool with connect and total timeouts,
 * the channel's credential, and errors classified the way failover needs them. A create that
 * never reached the upstream (refused connection, DNS) is safe to send elsewhere; one that was
 * sent and got no answer (timeout, reset, garbled body) is not.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Agent, type Dispatcher, type FormData, request } from "undici";
import { deadline } from "../../../core/deadline.js";
import { errors, isReelayError, type ReelayError } from "../../../core/errors.js";
import { sniffMedia } from "../../../core/media/media_types.js";
import { classOfRefusal, ERROR_CLASSES } from "../../../core/upstream/taxonomy.js";
import { GuardError, type HostGuard } from "../../net/guard.js";

export interface ChannelHttpOptions {
  readonly channelId: string;
  /** Origin plus any path prefix; routes are appended (`/v1/video/create`). */
  readonly baseUrl: string;
  readonly secret: string | null;
  /**
   * The credential's headers on each call to the channel's origin; by default
   * `Authorization: Bearer <secret>`. A provider with another scheme (a key header, a short-lived
   * signed token) passes its own; called per request, so a token may be renewed when it expires.
   */
  readonly authHeaders?: () => Record<string, string>;
  readonly connectTimeoutMs: number;
  /** Budget for one API call, answer included. */
  readonly requestTimeoutMs: number;
  /** Budget for one result download. */
  readonly downloadTimeoutMs: number;
  readonly maxDownloadBytes: number;
  /** Keep-alive connections to the upstream (polls of thousands of tasks share them). */
  readonly connections: number;
  /**
   * The SSRF guard for links on any other origin than the channel's (result files an upstream
   * keeps on a CDN, say, or points anywhere it likes). The channel's own origin is the admin's
   * choice and may be a private address; where its answers send Reelay is not.
   */
  readonly offOriginGuard: HostGuard;
}

export interface CallResult {
  readonly status: number;
  readonly retryAfterS: number | null;
  /** The parsed JSON body; undefined when it was not JSON. */
  readonly json: unknown;
  readonly text: string;
}

export type Phase = "submit" | "poll" | "cancel";

/** Errors raised before a single byte was sent: the request cannot have reached the upstream. */
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

const MAX_BODY_CHARS = 4 * 1024 * 1024;

export function parseRetryAfter(
  headers: Record<string, string | string[] | undefined>,
  now = Date.now(),
): number | null {
  const ms = Number(headers["retry-after-ms"]);
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms / 1000);
  const raw = headers["retry-after"];
  const v = Array.isArray(raw) ? raw[0] : raw;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** The upstream's own words for a failure, from whichever field it uses. */
export function upstreamMessage(json: unknown, text: string): { code: string | null; message: string } {
  const o = (json && typeof json === "object" ? json : {}) as Record<string, unknown>;
  const err = o.error;
  if (err && typeof err === "object") {
    const e = err as Record<string, unknown>;
    const message = typeof e.message === "string" ? e.message : JSON.stringify(err).slice(0, 300);
    return {
      code: typeof e.code === "string" ? e.code : typeof e.type === "string" ? e.type : null,
      message,
    };
  }
  for (const k of ["error", "message", "msg", "detail", "fail_reason", "failure_reason"]) {
    if (typeof o[k] === "string" && o[k])
      return { code: typeof o.code === "string" ? o.code : null, message: o[k] };
  }
  const plain = text.replace(/\s+/g, " ").trim().slice(0, 300);
  return { code: null, message: plain || "no reason given" };
}

export interface ChannelHttp {
  readonly channelId: string;
  /** One API call; throws ReelayErrors classified for `phase`. Non-2xx answers come back for the caller to judge. */
  call(
    method: "GET" | "POST" | "PUT" | "DELETE",
    path: string,
    opts: {
      phase: Phase;
      json?: unknown;
      form?: FormData;
      headers?: Record<string, string>;
      signal: AbortSignal;
      /** A create the upstream de-duplicates (by idempotency key): when its answer is lost, it may be sent again. */
      resendable?: boolean;
    },
  ): Promise<CallResult>;
  /** Turns a non-2xx answer into the error for `phase`. */
  refusal(res: CallResult, phase: Phase, resendable?: boolean): ReelayError;
  /**
   * Streams `url` (absolute, or a path on the channel) into `destPath`, checking that it is what
   * `expect` says by its content type and first bytes, and its size. Sends the credential only to
   * the channel's own origin; follows up to 3 redirects. Links on other origins pass the SSRF
   * guard (every hop), and connect only to the addresses it checked.
   */
  download(
    url: string,
    destPath: string,
    opts: { expect: "video" | "image"; signal: AbortSignal },
  ): Promise<{ bytes: number }>;
  close(): Promise<void>;
}

// The same magic-byte table as every other untrusted file (core/media/media_types.ts).
const isMp4 = (head: Buffer) => sniffMedia(head) === "mp4";
const isJpegOrPng = (head: Buffer) => ["jpeg", "png"].includes(sniffMedia(head) ?? "");

export function createChannelHttp(o: ChannelHttpOptions): ChannelHttp {
  const agent = new Agent({
    connect: { timeout: o.connectTimeoutMs },
    connections: o.connections,
    headersTimeout: o.requestTimeoutMs,
    bodyTimeout: o.requestTimeoutMs,
    keepAliveTimeout: 30_000,
  });
  const base = new URL(o.baseUrl.endsWith("/") ? o.baseUrl : `${o.baseUrl}/`);
  const bearer = (): Record<string, string> => (o.secret ? { authorization: `Bearer ${o.secret}` } : {});
  const auth = o.authHeaders ?? bearer;
  const urlOf = (path: string) => new URL(path.replace(/^\//, ""), base);

  function transportError(e: unknown, phase: Phase, signal: AbortSignal, resendable: boolean): ReelayError {
    if (isReelayError(e)) return e;
    // Our own abort (shutdown, cancel) is not the upstream's doing: let it through as it is.
    if (signal.aborted) throw signal.reason;
    const err = e as { code?: unknown; name?: string; message?: string };
    const code = typeof err.code === "string" ? err.code : "";
    const message =
      err.name === "TimeoutError"
        ? `no answer within ${o.requestTimeoutMs} ms`
        : `${code || err.name || "error"}: ${err.message ?? String(e)}`;
    if (phase === "submit" && !NOT_SENT.has(code))
      return errors.upstreamOutcomeUnknown(o.channelId, message, resendable);
    return errors.upstreamRejected(
      o.channelId,
      { status: null, code: code || null, message },
      { retryable: true },
    );
  }

  return {
    channelId: o.channelId,
    async call(method, path, opts) {
      const bound = deadline(opts.signal, o.requestTimeoutMs);
      const signal = bound.signal;
      const headers: Record<string, string> = { accept: "application/json", ...auth(), ...opts.headers };
      let body: string | FormData | null = null;
      if (opts.json !== undefined) {
        body = JSON.stringify(opts.json);
        headers["content-type"] = "application/json";
      } else if (opts.form) body = opts.form;
      try {
        const res = await request(urlOf(path), {
          method,
          headers,
          body,
          signal,
          dispatcher: agent as Dispatcher,
        });
        const text = (await res.body.text()).slice(0, MAX_BODY_CHARS);
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        return { status: res.statusCode, retryAfterS: parseRetryAfter(res.headers), json, text };
      } catch (e) {
        throw transportError(e, opts.phase, opts.signal, opts.resendable ?? false);
      } finally {
        bound.release();
      }
    },
    refusal(res, phase, resendable = false) {
      const said = upstreamMessage(res.json, res.text);
      if (phase === "submit" && res.status === 504)
        return errors.upstreamOutcomeUnknown(o.channelId, `HTTP 504: ${said.message}`, resendable);
      // The taxonomy decides: a class that is not the request's fault may go to another channel.
      const cls = classOfRefusal(res.status, said);
      if (phase === "submit" && cls === "content_policy")
        return errors.contentPolicy(o.channelId, said.code ?? String(res.status), said.message);
      return errors.upstreamRejected(
        o.channelId,
        { status: res.status, code: said.code, message: said.message, class: cls },
        { retryable: phase !== "submit" || ERROR_CLASSES[cls].retry, retryAfterS: res.retryAfterS },
      );
    },
    async download(url, destPath, opts) {
      // Agents made for checked off-origin hosts live until the body has been read.
      const pinned: Agent[] = [];
      try {
        return await downloadVia(url, destPath, opts, pinned);
      } finally {
        await Promise.all(pinned.map((a) => a.destroy()));
      }
    },
    close: () => agent.close(),
  };

  /** The dispatcher for one hop: the channel's pool at home, a guard-checked agent elsewhere. */
  async function dispatcherFor(target: URL, signal: AbortSignal, pinned: Agent[]): Promise<Dispatcher> {
    if (target.origin === base.origin) return agent;
    try {
      const url = o.offOriginGuard.parse(target.href);
      const addresses = await o.offOriginGuard.addresses(url, signal);
      const a = await o.offOriginGuard.agent(url.hostname, addresses, o.downloadTimeoutMs);
      pinned.push(a);
      return a;
    } catch (e) {
      if (!(e instanceof GuardError)) throw e;
      throw errors.upstreamBadContent(
        o.channelId,
        `its result link to ${target.host} is refused: ${e.message}`,
        e.kind === "unresolvable" && e.retryable,
      );
    }
  }

  async function downloadVia(
    url: string,
    destPath: string,
    { expect, signal: outer }: { expect: "video" | "image"; signal: AbortSignal },
    pinned: Agent[],
  ): Promise<{ bytes: number }> {
    const signal = AbortSignal.any([outer, AbortSignal.timeout(o.downloadTimeoutMs)]);
    let target = urlOf(url);
    for (let hop = 0; ; hop++) {
      const sameOrigin = target.origin === base.origin;
      const dispatcher = await dispatcherFor(target, signal, pinned);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(target, {
          method: "GET",
          headers: {
            accept: expect === "video" ? "video/mp4, application/octet-stream" : "image/*",
            ...(sameOrigin ? auth() : {}),
          },
          signal,
          dispatcher,
        });
      } catch (e) {
        throw errors.upstreamBadContent(o.channelId, `${(e as Error).message}`);
      }
      if ([301, 302, 303, 307, 308].includes(res.statusCode) && hop < 3) {
        await res.body.dump();
        const loc = res.headers.location;
        if (typeof loc !== "string")
          throw errors.upstreamBadContent(o.channelId, "a redirect without a Location");
        target = new URL(loc, target);
        if (!/^https?:$/.test(target.protocol))
          throw errors.upstreamBadContent(o.channelId, "a redirect to a non-HTTP URL", false);
        continue;
      }
      const type = String(res.headers["content-type"] ?? "").toLowerCase();
      if (res.statusCode !== 200) {
        const text = (await res.body.text().catch(() => "")).slice(0, 2000);
        const said = upstreamMessage(undefined, text);
        throw errors.upstreamBadContent(
          o.channelId,
          `HTTP ${res.statusCode} (${type || "no content type"}): ${said.message.slice(0, 200)}`,
        );
      }
      const okType =
        expect === "video"
          ? /^(video\/|application\/octet-stream|binary\/octet-stream)/.test(type)
          : /^(image\/|application\/octet-stream)/.test(type);
      if (!okType) {
        await res.body.dump();
        throw errors.upstreamBadContent(o.channelId, `the answer is '${type || "untyped"}', not a ${expect}`);
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > o.maxDownloadBytes) {
        await res.body.dump();
        throw errors.upstreamBadContent(
          o.channelId,
          `the ${expect} is ${declared} bytes, over the ${o.maxDownloadBytes}-byte limit`,
          false,
        );
      }
      let bytes = 0;
      let head = Buffer.alloc(0);
      const check = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          if (bytes > o.maxDownloadBytes) {
            done(
              errors.upstreamBadContent(
                o.channelId,
                `the ${expect} is over the ${o.maxDownloadBytes}-byte limit`,
                false,
              ),
            );
            return;
          }
          if (head.length < 16) {
            head = Buffer.concat([head, chunk]).subarray(0, 16);
            if (head.length >= 8 && !(expect === "video" ? isMp4(head) : isJpegOrPng(head))) {
              done(
                errors.upstreamBadContent(
                  o.channelId,
                  `the content is not a${expect === "video" ? "n MP4 video" : " JPEG or PNG image"} (its first bytes say otherwise)`,
                ),
              );
              return;
            }
          }
          done(null, chunk);
        },
      });
      try {
        await pipeline(res.body, check, createWriteStream(destPath), { signal });
      } catch (e) {
        await rm(destPath, { force: true });
        if (isReelayError(e)) throw e;
        if (outer.aborted) throw outer.reason;
        throw errors.upstreamBadContent(o.channelId, (e as Error).message);
      }
      if (bytes < 8) {
        await rm(destPath, { force: true });
        throw errors.upstreamBadContent(o.channelId, `the ${expect} is empty`);
      }
      return { bytes };
    }
  }
}
