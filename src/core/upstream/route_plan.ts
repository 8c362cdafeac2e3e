/**
 * Where a new task goes: the channels to try for a request, best first. The dispatcher sends a
 * task down this list (submit.ts); a quote shows its head as the channel a create would use now.
 */
import { errors } from "../errors.js";
import type { Clock } from "../ports.js";
import type { VideoRequest } from "../tasks/task.js";
import type { Channel, ChannelRouter } from "./channels.js";
import type { UpstreamTaskStore } from "./ports.js";

export interface RoutePlan {
  readonly candidates: readonly Channel[];
  /** The upstream video a remix starts from, when it goes back to the upstream that made it. */
  readonly remixOf: string | null;
}

/**
 * The channels for `r`, best first (by priority, then a weighted draw, skipping channels cooling
 * down or at their cap). Throws the ReelayError the task would fail or wait with when none can
 * take it now.
 */
export async function planRoute(
  deps: { router: ChannelRouter; upstreamTasks: Pick<UpstreamTaskStore, "get">; clock: Clock },
  r: VideoRequest,
): Promise<RoutePlan> {
  const { router } = deps;
  if (r.source !== null || (r.characters?.length ?? 0) > 0) {
    // Upstreams take a prompt and images; a source video or characters need the local renderer,
    // except a remix of a video an upstream made, which goes back to that upstream where it can.
    const src =
      r.source?.kind === "remix" && r.source.taskId
        ? await deps.upstreamTasks.get(r.source.taskId)
        : undefined;
    const origin = src ? router.get(src.channelId) : undefined;
    if (src?.upstreamId && origin?.upstream?.remix) return { candidates: [origin], remixOf: src.upstreamId };
    const local = router.all().filter((c) => c.upstream === null);
    if (local.length === 0)
      throw errors.noChannelFor(r.model, r.source ? `a ${r.source.kind}` : "a video with characters");
    return { candidates: local, remixOf: null };
  }
  const plan = await router.plan(r.model, deps.clock.now());
  if (plan.channels.length === 0)
    throw errors.channelsUnavailable(r.model, plan.why ?? "none", plan.retryAfterS);
  return { candidates: plan.channels, remixOf: null };
}
