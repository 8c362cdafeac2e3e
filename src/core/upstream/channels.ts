/**
 * Channels and routing: which upstream account (or the local renderer) a new task goes to.
 * The highest-priority channel that serves the model, is not cooling down and is under its
 * concurrency cap goes first; equals are ordered by a weighted draw. A channel whose creates keep
 * failing cools down, then gets tasks again (the first one probes it: one more failure and it
 * cools down for longer).
 */
import type { ModelCapability, ModelTable } from "../catalogue/models.js";
import type {
  ChannelHealth,
  ChannelHealthStore,
  ChannelKind,
  UpstreamProvider,
  UpstreamTaskStore,
} from "./ports.js";

export interface ChannelSpec {
  readonly id: string;
  readonly kind: ChannelKind;
  /** Higher goes first. */
  readonly priority: number;
  /** Share among channels of the same priority. */
  readonly weight: number;
  /** Tasks it may hold at once (upstream channels; 0: no cap). */
  readonly maxConcurrent: number;
  /** Reelay model name → the name the channel knows; "*" serves every model under its own name. */
  readonly models: ReadonlyMap<string, string> | "*";
  /** Time between two polls of one task. */
  readonly pollIntervalMs: number;
  /** Failures in a row that start a cool-down, and its first length (it doubles while failures go on, up to 16×). */
  readonly cooldown: { readonly failures: number; readonly seconds: number };
  /**
   * How long a task may run on this channel once accepted before Reelay gives up on it there
   * (cancels it and fails it over); absent: until the task's own deadline.
   */
  readonly taskTimeoutMs?: number;
}

export interface Channel {
  readonly spec: ChannelSpec;
  /** Null for the local renderer (the worker runs it itself). */
  readonly upstream: UpstreamProvider | null;
}

export interface ChannelRouter {
  /** Channels to try for `model`, best first; empty with a reason when none can take it now. */
  plan(
    model: string,
    now: number,
  ): Promise<{ channels: Channel[]; why: string | null; retryAfterS: number | null }>;
  get(id: string): Channel | undefined;
  all(): readonly Channel[];
  /** Every channel that serves `model`, whatever its health or load (failover asks which are left). */
  serving(model: string): Channel[];
  /**
   * The id the channel knows the model by: the channel's own rename, else the catalogue's id for
   * the channel's kind (its image-to-video id when the request has a first frame), else the name.
   */
  upstreamModel(channel: Channel, model: string, opts?: { firstFrame: boolean }): string;
  /** A create the channel refused through its own fault. */
  failure(channel: Channel, error: string, now: number): Promise<void>;
  success(channel: Channel, now: number): Promise<void>;
  health(): Promise<Map<string, ChannelHealth>>;
}

/**
 * Whether a channel serves `model`: one it names, or any under "*", except that "*" covers a
 * catalogue model with upstream ids only on a channel of one of those kinds (a Veo model is not
 * sent to a Kling account, nor to the local renderer, unless a channel names it).
 */
export function servesModel(
  spec: Pick<ChannelSpec, "kind" | "models">,
  model: string,
  capability?: Pick<ModelCapability, "upstream">,
): boolean {
  if (spec.models !== "*") return spec.models.has(model);
  return !capability?.upstream || Object.hasOwn(capability.upstream, spec.kind);
}

/** Orders `items` by a weighted draw without replacement (`random` in [0, 1)). */
export function weightedOrder<T>(items: readonly T[], weight: (t: T) => number, random: () => number): T[] {
  const left = [...items];
  const out: T[] = [];
  while (left.length > 0) {
    const total = left.reduce((s, t) => s + Math.max(0, weight(t)), 0);
    let pick = 0;
    if (total > 0) {
      let r = random() * total;
      pick = left.findIndex((t) => {
        r -= Math.max(0, weight(t));
        return r < 0;
      });
      if (pick < 0) pick = left.length - 1;
    }
    out.push(...left.splice(pick, 1));
  }
  return out;
}

export function createChannelRouter(deps: {
  channels: readonly Channel[];
  health: ChannelHealthStore;
  upstreamTasks: UpstreamTaskStore;
  /** The catalogue, for upstream model ids per kind. */
  models?: ModelTable;
  random?: () => number;
}): ChannelRouter {
  const byId = new Map(deps.channels.map((c) => [c.spec.id, c]));
  const random = deps.random ?? Math.random;
  const servingOf = (model: string) =>
    deps.channels.filter((c) => servesModel(c.spec, model, deps.models?.get(model)));
  return {
    async plan(model, now) {
      const serving = servingOf(model);
      if (serving.length === 0) return { channels: [], why: "no channel serves it", retryAfterS: null };
      // Counting tasks in flight is only needed where a channel has a cap.
      const capped = serving.some((c) => c.spec.maxConcurrent > 0);
      const [health, inFlight] = await Promise.all([
        deps.health.all(),
        capped ? deps.upstreamTasks.inFlight() : Promise.resolve(new Map<string, number>()),
      ]);
      const cooling = (c: Channel) => (health.get(c.spec.id)?.cooldownUntil ?? 0) > now;
      const full = (c: Channel) =>
        c.spec.maxConcurrent > 0 && (inFlight.get(c.spec.id) ?? 0) >= c.spec.maxConcurrent;
      const open = serving.filter((c) => !cooling(c) && !full(c));
      if (open.length === 0) {
        const soonest = Math.min(
          ...serving.filter(cooling).map((c) => health.get(c.spec.id)?.cooldownUntil ?? now),
          now + 5000,
        );
        const why = serving.every(cooling)
          ? "every channel serving it is cooling down after failures"
          : "every channel serving it is busy (at its concurrency cap) or cooling down";
        return { channels: [], why, retryAfterS: Math.max(1, Math.ceil((soonest - now) / 1000)) };
      }
      const priorities = [...new Set(open.map((c) => c.spec.priority))].sort((a, b) => b - a);
      const channels = priorities.flatMap((p) =>
        weightedOrder(
          open.filter((c) => c.spec.priority === p),
          (c) => c.spec.weight,
          random,
        ),
      );
      return { channels, why: null, retryAfterS: null };
    },
    get: (id) => byId.get(id),
    all: () => deps.channels,
    serving: servingOf,
    upstreamModel(channel, model, opts) {
      const m = channel.spec.models;
      const renamed = m === "*" ? undefined : m.get(model);
      if (renamed !== undefined && renamed !== model) return renamed;
      const id = deps.models?.get(model)?.upstream?.[channel.spec.kind];
      if (id === undefined) return model;
      if (typeof id === "string") return id;
      return opts?.firstFrame ? id.imageToVideo : id.textToVideo;
    },
    async failure(channel, error, now) {
      const { failures, seconds } = channel.spec.cooldown;
      await deps.health.failure(channel.spec.id, {
        error,
        now,
        threshold: failures,
        cooldownMs: seconds * 1000,
      });
    },
    async success(channel, now) {
      await deps.health.success(channel.spec.id, now);
    },
    health: () => deps.health.all(),
  };
}
