/** The configured upstream channels, their adapters and the router that picks one per task. */

import type { Resolver } from "../../adapters/net/guard.js";
import type { ChannelHttp } from "../../adapters/providers/upstream/http.js";
import { modelTable } from "../../core/catalogue/models.js";
import { type CallbackLinks, createCallbackLinks } from "../../core/upstream/callbacks.js";
import { type Channel, type ChannelRouter, createChannelRouter } from "../../core/upstream/channels.js";
import type { UpstreamKind, UpstreamProvider } from "../../core/upstream/ports.js";
import type { Config } from "../config.js";
import type { Wiring } from "./context.js";
import type { Stores } from "./stores.js";

export interface Channels {
  readonly router: ChannelRouter;
  /** True when some channel has an upstream: the dispatcher hands tasks to them. */
  readonly hasUpstreams: boolean;
  /** True when the poller must run: upstreams configured, or tasks left on a removed channel. */
  readonly needsPoller: boolean;
  /** The URLs providers push callbacks to (channels with `callbacks` on). */
  readonly callbackLinks: CallbackLinks;
  /** Ends the connections adapters keep open (at shutdown). */
  close(): Promise<void>;
  /** Who is told when an adapter hears that one of its upstream tasks changed (set once, by the wiring). */
  onUpstreamChange(listener: (channelId: string, upstreamId: string) => void): void;
}

/** What every upstream adapter is built from. */
interface AdapterDeps {
  /** The channel's HTTP client; `authHeaders` replaces the default `Authorization: Bearer <secret>`. */
  readonly http: (authHeaders?: () => Record<string, string>) => ChannelHttp;
  readonly config: Config;
  readonly channel: Config["channels"][number];
  /** The adapter heard that one of its upstream tasks changed (a ComfyUI server's event): poll it now. */
  readonly changed: (upstreamId: string) => void;
}

/**
 * One line per upstream kind: how its adapter is built. Adapters load on first use, so a process
 * without upstream channels loads none of them.
 */
const ADAPTERS: Record<UpstreamKind, (d: AdapterDeps) => Promise<UpstreamProvider>> = {
  unified: async ({ http }) =>
    (await import("../../adapters/providers/upstream/unified-relay.js")).createUnifiedRelayProvider(http()),
  openai: async ({ http, config }) => {
    const [{ createOpenAiVideosProvider }, { createImageFetcher }] = await Promise.all([
      import("../../adapters/providers/upstream/openai-videos.js"),
      import("../../adapters/net/safe-fetch.js"),
    ]);
    return createOpenAiVideosProvider(http(), createImageFetcher(config.images));
  },
  xai: async ({ http }) =>
    (await import("../../adapters/providers/xai/provider.js")).createXaiProvider(http()),
  seedance: async ({ http }) =>
    (await import("../../adapters/providers/seedance/provider.js")).createSeedanceProvider(http()),
  dashscope: async ({ http }) =>
    (await import("../../adapters/providers/dashscope/provider.js")).createDashScopeProvider(http()),
  kling: async ({ http, channel }) => {
    const [{ createKlingProvider }, { klingJwtHeaders }] = await Promise.all([
      import("../../adapters/providers/kling/provider.js"),
      import("../../adapters/providers/kling/jwt.js"),
    ]);
    // Access key + secret key: signed JWTs, renewed before expiry; else the API key as Bearer.
    return createKlingProvider(http(channel.signingKeys ? klingJwtHeaders(channel.signingKeys) : undefined));
  },
  gemini: async ({ http, config, channel }) => {
    const [{ createGeminiProvider, geminiAuthHeaders }, { createImageFetcher }] = await Promise.all([
      import("../../adapters/providers/gemini/provider.js"),
      import("../../adapters/net/safe-fetch.js"),
    ]);
    return createGeminiProvider(http(geminiAuthHeaders(channel.secret)), createImageFetcher(config.images));
  },
  minimax: async ({ http }) =>
    (await import("../../adapters/providers/minimax/provider.js")).createMiniMaxProvider(http()),
  luma: async ({ http }) =>
    (await import("../../adapters/providers/luma/provider.js")).createLumaProvider(http()),
  newapi: async ({ http }) =>
    (await import("../../adapters/providers/newapi/provider.js")).createNewApiProvider(http()),
  replicate: async ({ http, config }) => {
    // Each Replicate model names its own inputs: the adapter reads the catalogue's `inputs` map.
    const models = modelTable(config.models);
    return (await import("../../adapters/providers/replicate/provider.js")).createReplicateProvider(
      http(),
      (name) => models.get(name),
    );
  },
  runway: async ({ http, config, channel }) => {
    const [{ createRunwayProvider, runwayAuthHeaders }, { createImageFetcher }] = await Promise.all([
      import("../../adapters/providers/runway/provider.js"),
      import("../../adapters/net/safe-fetch.js"),
    ]);
    // The key as Bearer plus the X-Runway-Version header Runway requires on every call.
    return createRunwayProvider(
      http(runwayAuthHeaders(channel.secret, channel.runwayVersion)),
      createImageFetcher(config.images),
    );
  },
  openrouter: async ({ http }) =>
    (await import("../../adapters/providers/openrouter/provider.js")).createOpenRouterProvider(http()),
  fal: async ({ http, config, channel }) => {
    const { createFalProvider, falAuthHeaders, FAL_JWKS_URL } = await import(
      "../../adapters/providers/fal/provider.js"
    );
    // With callbacks on, fal's webhook keys come from its JWKS (no credential sent there).
    const keysUrl = new URL(channel.callbackKeysUrl ?? FAL_JWKS_URL);
    const jwks = channel.callbacks ? await sideHttp(config, channel, `${keysUrl.origin}/`, null) : null;
    const webhookKeys = jwks
      ? async (signal: AbortSignal) =>
          (await jwks.call("GET", `${keysUrl.pathname}${keysUrl.search}`, { phase: "poll", signal })).json
      : undefined;
    return createFalProvider(http(falAuthHeaders(channel.secret)), modelTable(config.models), webhookKeys);
  },
  vertex: async ({ http, config, channel }) => {
    const [{ createVertexProvider }, token, { createImageFetcher }] = await Promise.all([
      import("../../adapters/providers/vertex/provider.js"),
      import("../../adapters/providers/vertex/token.js"),
      import("../../adapters/net/safe-fetch.js"),
    ]);
    const v = channel.vertex;
    if (!v || !channel.secret || !channel.baseUrl)
      throw new Error(`channel '${channel.id}': vertex settings missing`);
    // The service account's OAuth token, renewed by the adapter before each call, as Bearer on
    // the API and on Cloud Storage (results written to the channel's storageUri).
    const tokens = token.createTokenSource(
      channel.id,
      token.readServiceAccountKey(channel.secret, v.tokenUrl),
      {
        timeoutMs: channel.timeouts.requestMs,
      },
    );
    const storage = await sideHttp(config, channel, v.storageBaseUrl, tokens.headers);
    return createVertexProvider(http(tokens.headers), storage, createImageFetcher(config.images), {
      place: { project: v.project, location: v.location },
      ...(v.storageUri ? { storageUri: v.storageUri } : {}),
      tokens,
      baseUrl: channel.baseUrl,
      requestTimeoutMs: channel.timeouts.requestMs,
      maxDownloadBytes: channel.maxDownloadBytes,
    });
  },
  comfyui: async ({ http, config, channel, changed }) => {
    const [{ createComfyUiProvider }, { createImageFetcher }] = await Promise.all([
      import("../../adapters/providers/comfyui/provider.js"),
      import("../../adapters/net/safe-fetch.js"),
    ]);
    // The workflow and its map were read and checked at start (channel_config.ts).
    if (!channel.comfyui) throw new Error(`channel ${channel.id}: a comfyui channel without its workflow`);
    // Progress from the server's /ws events, with the channel's credential (a proxy in front).
    const secret = channel.secret;
    return createComfyUiProvider(http(), createImageFetcher(config.images), channel.comfyui, {
      baseUrl: channel.baseUrl ?? "",
      headers: () => (secret ? { authorization: `Bearer ${secret}` } : {}),
      connectTimeoutMs: channel.timeouts.connectMs,
      onChange: changed,
    });
  },
};

/**
 * HTTP to another origin a channel's provider uses besides its API (Cloud Storage for Vertex, fal's
 * webhook keys), with the channel's timeouts; `authHeaders` null: no credential is sent there.
 */
async function sideHttp(
  config: Config,
  channel: Config["channels"][number],
  baseUrl: string,
  authHeaders: (() => Record<string, string>) | null,
): Promise<ChannelHttp> {
  const [{ createChannelHttp }, { createHostGuard }] = await Promise.all([
    import("../../adapters/providers/upstream/http.js"),
    import("../../adapters/net/guard.js"),
  ]);
  return createChannelHttp({
    ...(authHeaders ? { authHeaders } : {}),
    channelId: channel.id,
    baseUrl,
    secret: null,
    connectTimeoutMs: channel.timeouts.connectMs,
    requestTimeoutMs: channel.timeouts.requestMs,
    downloadTimeoutMs: channel.timeouts.downloadMs,
    maxDownloadBytes: channel.maxDownloadBytes,
    connections: channel.connections,
    offOriginGuard: createHostGuard({ allowHosts: config.images.allowHosts }),
  });
}

/** The upstream adapter of a channel; null for the local renderer. */
async function upstreamOf(
  config: Config,
  ch: Config["channels"][number],
  resolve: Resolver | undefined,
  changed: (channelId: string, upstreamId: string) => void,
): Promise<UpstreamProvider | null> {
  const baseUrl = ch.baseUrl;
  if (ch.kind === "local" || !baseUrl) return null;
  const [{ createChannelHttp }, { createHostGuard }] = await Promise.all([
    import("../../adapters/providers/upstream/http.js"),
    import("../../adapters/net/guard.js"),
  ]);
  const http = (authHeaders?: () => Record<string, string>) =>
    createChannelHttp({
      ...(authHeaders ? { authHeaders } : {}),
      channelId: ch.id,
      baseUrl,
      secret: ch.secret,
      connectTimeoutMs: ch.timeouts.connectMs,
      requestTimeoutMs: ch.timeouts.requestMs,
      downloadTimeoutMs: ch.timeouts.downloadMs,
      maxDownloadBytes: ch.maxDownloadBytes,
      connections: ch.connections,
      // Result links off the channel's origin: the same guard and allow-list as image links.
      offOriginGuard: createHostGuard({
        allowHosts: config.images.allowHosts,
        ...(resolve ? { resolve } : {}),
      }),
    });
  return ADAPTERS[ch.kind]({ http, config, channel: ch, changed: (id) => changed(ch.id, id) });
}

export async function buildChannels(
  { config, overrides }: Wiring,
  stores: Stores,
  opts: { signingSecret: string },
): Promise<Channels> {
  // Adapters are built before the poller: their news is passed on once the wiring set a listener.
  let listener: ((channelId: string, upstreamId: string) => void) | null = null;
  const changed = (channelId: string, upstreamId: string) => listener?.(channelId, upstreamId);
  const channels: Channel[] = await Promise.all(
    config.channels.map(async (ch) => ({
      spec: {
        id: ch.id,
        kind: ch.kind,
        priority: ch.priority,
        weight: ch.weight,
        maxConcurrent: ch.maxConcurrent,
        models: ch.models,
        pollIntervalMs: ch.pollIntervalMs,
        cooldown: ch.cooldown,
        ...(ch.taskTimeoutMs === undefined ? {} : { taskTimeoutMs: ch.taskTimeoutMs }),
      },
      upstream: await upstreamOf(config, ch, overrides.resolve, changed),
    })),
  );
  const router = createChannelRouter({
    channels,
    health: stores.channelHealth,
    upstreamTasks: stores.upstreamTasks,
    models: modelTable(config.models),
  });
  const hasUpstreams = channels.some((c) => c.upstream !== null);
  // Tasks still pinned to a channel the config no longer has: its record keeps the upstream id
  // but not the base URL or credential, so nobody could poll it. The poller runs anyway, to end
  // them at once (failed, naming the channel, refunded) rather than leave them running for ever.
  const orphaned = [...(await stores.upstreamTasks.inFlight()).keys()].some(
    (id) => !channels.some((c) => c.spec.id === id && c.upstream !== null),
  );
  const callbackLinks = createCallbackLinks({
    secret: opts.signingSecret,
    publicUrl: config.publicUrl,
    channels: new Set(config.channels.filter((c) => c.callbacks).map((c) => c.id)),
  });
  return {
    router,
    hasUpstreams,
    needsPoller: hasUpstreams || orphaned,
    callbackLinks,
    async close() {
      await Promise.all(channels.map((c) => c.upstream?.close?.()));
    },
    onUpstreamChange(l) {
      listener = l;
    },
  };
}
