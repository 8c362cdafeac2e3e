/**
 * Provider callbacks: where a provider pushes a task's changes (Kling, Seedance, MiniMax, fal,
 * Replicate), Reelay gives it a URL of its own per task, `/v1/callbacks/<channel>/<task>?token=…`,
 * whose token is an HMAC of the channel and task under Reelay's signing secret: nobody else can
 * make one. A callback that passes the token and the provider's own signature (where it signs)
 * makes the task due for a poll at once; it never sets the task's state itself. What the poll
 * finds goes through the lifecycle as any poll's does, so a forged, replayed or late callback
 * changes nothing, and a task that both a callback and the regular polling see finish completes
 * once. Polling goes on as before: a callback that never comes costs only the wait.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { errors } from "../errors.js";
import type { Clock, Logger, Telemetry } from "../ports.js";
import type { ChannelRouter } from "./channels.js";
import type { CallbackRequest, UpstreamTaskStore } from "./ports.js";

/** The URL a channel's provider is given for one task. */
export interface CallbackLinks {
  /** Whether the channel takes callbacks. */
  takes(channelId: string): boolean;
  /** Absolute URL for the provider to call; null when the channel does not take callbacks. */
  urlFor(channelId: string, taskId: string): string | null;
  /** Whether `token` is the one `urlFor` put in the task's URL. */
  check(channelId: string, taskId: string, token: string | undefined): boolean;
}

export function createCallbackLinks(opts: {
  secret: string;
  publicUrl: string;
  /** Channels with callbacks on. */
  channels: ReadonlySet<string>;
}): CallbackLinks {
  const base = opts.publicUrl.replace(/\/+$/, "");
  const mac = (channelId: string, taskId: string): Buffer =>
    createHmac("sha256", opts.secret).update(`upstream-callback\n${channelId}\n${taskId}`).digest();
  return {
    takes: (channelId) => opts.channels.has(channelId),
    urlFor(channelId, taskId) {
      if (!opts.channels.has(channelId)) return null;
      const token = mac(channelId, taskId).toString("base64url");
      return `${base}/v1/callbacks/${encodeURIComponent(channelId)}/${encodeURIComponent(taskId)}?token=${token}`;
    },
    check(channelId, taskId, token) {
      if (!token || token.length > 100) return false;
      const expected = mac(channelId, taskId);
      const given = Buffer.from(token, "base64url");
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

/** What the route answers: a challenge echoed, or an acknowledgement saying whether a poll was made due. */
export type CallbackAnswer =
  | { readonly kind: "challenge"; readonly answer: Record<string, unknown> }
  | { readonly kind: "received"; readonly polled: boolean };

export interface CallbackReceiver {
  /**
   * Takes a provider's callback for `taskId` on `channelId`. Throws `not_found` for a channel
   * without callbacks and `callback_refused` for a bad token or provider signature.
   */
  receive(
    channelId: string,
    taskId: string,
    token: string | undefined,
    req: Omit<CallbackRequest, "now">,
  ): Promise<CallbackAnswer>;
}

export function createCallbackReceiver(deps: {
  links: CallbackLinks;
  router: ChannelRouter;
  upstreamTasks: UpstreamTaskStore;
  clock: Clock;
  logger: Logger;
  /** Tells the poller there is a due task (a no-op where this process runs none). */
  wake: () => void;
  /** Counts each callback that passed its checks (the dashboard's callbacks per minute). */
  telemetry?: Telemetry;
}): CallbackReceiver {
  return {
    async receive(channelId, taskId, token, req) {
      const channel = deps.router.get(channelId);
      const verify = channel?.upstream?.verifyCallback?.bind(channel.upstream);
      if (!channel || !verify || !deps.links.takes(channelId)) throw errors.callbacksOff(channelId);
      if (!deps.links.check(channelId, taskId, token))
        throw errors.callbackRefused("the token does not match this channel and task");
      const now = deps.clock.now();
      const verdict = await verify({ ...req, now });
      if (verdict.kind === "refused") {
        deps.logger.warn({ channel: channelId, taskId, why: verdict.reason }, "provider callback refused");
        throw errors.callbackRefused(verdict.reason);
      }
      if (verdict.kind === "challenge") return verdict;
      deps.telemetry?.upstreamCallback?.({ channel: channelId });
      const row = await deps.upstreamTasks.get(taskId);
      // About a task this channel is not following (any more), or another upstream task than the
      // one it follows: acknowledged, so the provider stops sending it, and nothing else.
      if (
        !row ||
        row.channelId !== channelId ||
        row.phase !== "polling" ||
        (verdict.upstreamId !== null && verdict.upstreamId !== row.upstreamId)
      ) {
        return { kind: "received", polled: false };
      }
      const polled = await deps.upstreamTasks.expedite(taskId, now);
      if (polled) deps.wake();
      deps.logger.info({ channel: channelId, taskId, polled }, "provider callback");
      return { kind: "received", polled };
    },
  };
}
