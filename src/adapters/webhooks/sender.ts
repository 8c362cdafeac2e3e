/**
 * Sends webhooks over HTTP: signed per Standard Webhooks (the `standardwebhooks` library), through
 * the SSRF guard (the URL's host resolved once, only public addresses unless allow-listed, the
 * connection pinned to the checked addresses), no redirects followed, a timeout on every attempt,
 * and the receiver's body never read (its status is all that counts).
 */
import type { WebhookSender, WebhookSendResult } from "../../core/webhooks/ports.js";
import { createHostGuard, describeNetworkError, discard, GuardError, type Resolver } from "../net/guard.js";

export interface WebhookSenderOptions {
  /** Hosts (`name` or `name:port`) exempt from the address check, e.g. a receiver on loopback in tests. */
  readonly allowHosts: readonly string[];
  /** Budget of one attempt: resolve, connect, headers. */
  readonly timeoutMs: number;
  readonly userAgent: string;
  /** Defaults to the system resolver; tests inject a fake. */
  readonly resolve?: Resolver;
}

export function createWebhookSender(opts: WebhookSenderOptions): WebhookSender {
  const guard = createHostGuard({
    allowHosts: opts.allowHosts,
    ...(opts.resolve ? { resolve: opts.resolve } : {}),
  });

  return {
    async check(url) {
      try {
        await guard.addresses(guard.parse(url), AbortSignal.timeout(opts.timeoutMs));
        return null;
      } catch (e) {
        if (e instanceof GuardError) return e.message;
        return `could not be checked: ${describeNetworkError(e)}`;
      }
    },

    async send(msg, signal) {
      const started = performance.now();
      const done = (r: Omit<WebhookSendResult, "durationMs">): WebhookSendResult => ({
        ...r,
        durationMs: Math.round(performance.now() - started),
      });
      const timeout = AbortSignal.timeout(opts.timeoutMs);
      const both = AbortSignal.any([signal, timeout]);
      let url: URL;
      try {
        url = guard.parse(msg.url);
      } catch (e) {
        return done({
          ok: false,
          statusCode: null,
          error: `refused: ${(e as Error).message}`,
          permanent: true,
        });
      }
      let addresses: Awaited<ReturnType<typeof guard.addresses>>;
      try {
        addresses = await guard.addresses(url, both);
      } catch (e) {
        if (e instanceof GuardError) {
          const refused = e.kind === "refused";
          return done({
            ok: false,
            statusCode: null,
            error: `${refused ? "refused" : "unresolvable"}: ${e.message}`,
            // A host that resolves to a private address now may be fixed by its owner: only a bad URL is final.
            permanent: false,
          });
        }
        return done({
          ok: false,
          statusCode: null,
          error: timeoutOr(timeout, e, opts.timeoutMs),
          permanent: false,
        });
      }
      const agent = await guard.agent(url.hostname, addresses, opts.timeoutMs);
      try {
        // Loaded on the first delivery: an idle process (or one with no endpoints) never holds them.
        const [{ Webhook }, { request }] = await Promise.all([import("standardwebhooks"), import("undici")]);
        const signature = new Webhook(msg.secret).sign(msg.id, msg.timestamp, msg.body);
        const res = await request(url, {
          method: "POST",
          dispatcher: agent,
          signal: both,
          // undici's request() follows no redirects: a 3xx is a failed attempt, never a hop elsewhere.
          headers: {
            "content-type": "application/json",
            "user-agent": opts.userAgent,
            "webhook-id": msg.id,
            "webhook-timestamp": String(Math.floor(msg.timestamp.getTime() / 1000)),
            "webhook-signature": signature,
          },
          body: msg.body,
        });
        discard(res.body);
        const status = res.statusCode;
        const ok = status >= 200 && status <= 299;
        return done({
          ok,
          statusCode: status,
          error: ok ? null : `the receiver answered HTTP ${status}`,
          // 410 Gone: the receiver says this URL will never take webhooks again.
          permanent: status === 410,
        });
      } catch (e) {
        return done({
          ok: false,
          statusCode: null,
          error: timeoutOr(timeout, e, opts.timeoutMs),
          permanent: false,
        });
      } finally {
        await agent.destroy().catch(() => {});
      }
    },
  };
}

const timeoutOr = (timeout: AbortSignal, e: unknown, timeoutMs: number): string =>
  timeout.aborted ? `timed out after ${timeoutMs} ms` : `network error: ${describeNetworkError(e)}`;
