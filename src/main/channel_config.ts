/**
 * Channels from REELAY_CONFIG_FILE: where tasks go (the local renderer, upstream accounts), checked
 * at start against the model table and the environment (each channel's secret variable).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import {
  type ComfyWorkflow,
  parseWorkflow,
  readWorkflowMap,
  type WorkflowMap,
} from "../adapters/providers/comfyui/workflow.js";
import type { ModelCapability } from "../core/catalogue/models.js";
import { servesModel } from "../core/upstream/channels.js";
import {
  CALLBACK_KINDS,
  type ChannelKind,
  UPSTREAM_KINDS,
  type UpstreamKind,
} from "../core/upstream/ports.js";
import { ConfigError, httpUrl } from "./config_parts.js";

export interface ChannelConfig {
  readonly id: string;
  readonly kind: ChannelKind;
  readonly baseUrl: string | null;
  /** Read from the variable `secretEnv` names; never logged. */
  readonly secret: string | null;
  readonly models: ReadonlyMap<string, string> | "*";
  readonly priority: number;
  readonly weight: number;
  readonly maxConcurrent: number;
  readonly pollIntervalMs: number;
  readonly cooldown: { readonly failures: number; readonly seconds: number };
  readonly timeouts: { readonly connectMs: number; readonly requestMs: number; readonly downloadMs: number };
  readonly maxDownloadBytes: number;
  readonly connections: number;
  /** The provider is given a URL to push task changes to (kinds in CALLBACK_KINDS); polling goes on. */
  readonly callbacks: boolean;
  /** fal only: where its webhook signing keys (a JWKS) are published. */
  readonly callbackKeysUrl?: string;
  /**
   * Kling's access key + secret key (`accessKeyEnv`/`secretKeyEnv`), from which Reelay signs
   * short-lived JWTs instead of sending `secret`; absent for other kinds. Never logged.
   */
  readonly signingKeys?: { readonly accessKey: string; readonly secretKey: string };
  /** Runway only: the API version sent as `X-Runway-Version` (absent: the adapter's default). */
  readonly runwayVersion?: string;
  /** ComfyUI only: the workflow (API format, read from `workflowFile`) and where inputs go. */
  readonly comfyui?: { readonly workflow: ComfyWorkflow; readonly map: WorkflowMap };
  /** Vertex AI only: where the project's Veo models are, and where tokens and results come from. */
  readonly vertex?: VertexChannelConfig;
}

/** A Vertex AI channel's settings; the service-account key JSON is the channel's `secret`. */
export interface VertexChannelConfig {
  readonly project: string;
  readonly location: string;
  /** Overrides the key's `token_uri` (tests point it at an emulator). */
  readonly tokenUrl?: string;
  /** `gs://bucket/prefix/`: results are written there; else they come back inline as base64. */
  readonly storageUri?: string;
  /** Where `gs://` results are read (the Cloud Storage JSON API). */
  readonly storageBaseUrl: string;
}

export const channelSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be lower-case letters, digits, '.', '_' or '-'"),
  kind: z.enum(["local", ...UPSTREAM_KINDS]),
  baseUrl: httpUrl.optional(),
  secretEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable")
    .optional(),
  /** Kling only: the variables holding its access key and secret key (both or neither). */
  accessKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable")
    .optional(),
  secretKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be the name of an environment variable")
    .optional(),
  /** Runway only: the `X-Runway-Version` to send (a documented API version, `2024-11-06`). */
  runwayVersion: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, "must be an API version date such as 2024-11-06")
    .optional(),
  /** Vertex AI only: the Google Cloud project and region of the Veo models. */
  project: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,61}[a-z0-9]$/, "must be a Google Cloud project id")
    .optional(),
  location: z
    .string()
    .regex(/^[a-z]+(-[a-z0-9]+)+$|^global$/, "must be a Google Cloud region such as us-central1")
    .optional(),
  /** Vertex AI only: the OAuth token endpoint, overriding the key's `token_uri`. */
  tokenUrl: httpUrl.optional(),
  /** Vertex AI only: `gs://bucket/prefix/` for results (else inline base64). */
  storageUri: z
    .string()
    .regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/.*)?$/, "must be a gs://bucket/prefix/ URI")
    .optional(),
  /** Vertex AI only: the Cloud Storage JSON API's base URL (default https://storage.googleapis.com). */
  storageBaseUrl: httpUrl.optional(),
  /** ComfyUI only: a workflow in ComfyUI's API format (a path, read at start). */
  workflowFile: z.string().min(1).optional(),
  /** ComfyUI only: where Reelay's inputs go, as "<node id>.inputs.<name>" paths (fps a number). */
  workflowMap: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  models: z
    .union([
      z.literal("*"),
      z.array(z.string().min(1)).min(1),
      z.record(z.string().min(1), z.string().min(1)),
    ])
    .default("*"),
  priority: z.int().min(-1000).max(1000).default(0),
  weight: z.int().min(1).max(1000).default(1),
  maxConcurrent: z.int().min(0).max(1_000_000).default(0),
  pollIntervalS: z.number().min(0.05).max(600).default(5),
  cooldown: z
    .strictObject({
      failures: z.int().min(1).max(100).default(3),
      seconds: z.number().min(0.1).max(86_400).default(60),
    })
    .default({ failures: 3, seconds: 60 }),
  timeouts: z
    .strictObject({
      connectMs: z.int().min(50).max(120_000).default(5000),
      requestMs: z.int().min(100).max(600_000).default(30_000),
      downloadMs: z
        .int()
        .min(1000)
        .max(24 * 3_600_000)
        .default(600_000),
    })
    .default({ connectMs: 5000, requestMs: 30_000, downloadMs: 600_000 }),
  maxDownloadBytes: z
    .int()
    .min(1024)
    .default(2 * 1024 * 1024 * 1024),
  connections: z.int().min(1).max(4096).default(64),
  /** Providers that push callbacks (kling, seedance, minimax, fal, replicate): give them a URL. */
  callbacks: z.boolean().default(false),
  /** fal only: the JWKS its webhook signatures are checked against (default fal's own). */
  callbackKeysUrl: httpUrl.optional(),
});
const LOCAL_ONLY: ChannelConfig = {
  id: "local",
  kind: "local",
  baseUrl: null,
  secret: null,
  models: "*",
  priority: 0,
  weight: 1,
  maxConcurrent: 0,
  pollIntervalMs: 5000,
  cooldown: { failures: 3, seconds: 60 },
  timeouts: { connectMs: 5000, requestMs: 30_000, downloadMs: 600_000 },
  maxDownloadBytes: 2 * 1024 * 1024 * 1024,
  connections: 1,
  callbacks: false,
};

/** The models on offer: those some channel serves (built-ins that none serves are left out). */
export const offeredModels = (
  models: readonly ModelCapability[],
  channels: readonly ChannelConfig[],
): ModelCapability[] => models.filter((m) => channels.some((c) => servesModel(c, m.name, m)));

/** Channels from the file, checked against the model table and the environment (for secrets). */
export function readChannels(
  list: z.infer<typeof channelSchema>[] | undefined,
  models: readonly ModelCapability[],
  env: NodeJS.ProcessEnv,
  where: string,
  /** Models the config file names: each must be served (built-ins are offered only where served). */
  listed: ReadonlySet<string> = new Set(),
): ChannelConfig[] {
  if (!list) return [LOCAL_ONLY];
  const fail = (msg: string) => new ConfigError(`REELAY_CONFIG_FILE ${where}: ${msg}`);
  const known = new Set(models.map((m) => m.name));
  const ids = new Set<string>();
  const out = list.map((c, i): ChannelConfig => {
    const at = `channels[${i}] ('${c.id}')`;
    if (ids.has(c.id)) throw fail(`${at}: the id is used twice`);
    ids.add(c.id);
    if (c.kind !== "local" && !c.baseUrl) throw fail(`${at}: a ${c.kind} channel needs baseUrl`);
    let secret: string | null = null;
    if (c.secretEnv) {
      secret = env[c.secretEnv] ?? "";
      if (!secret) throw fail(`${at}: secretEnv names ${c.secretEnv}, which is not set`);
    }
    if (c.runwayVersion !== undefined && c.kind !== "runway")
      throw fail(`${at}: runwayVersion is for kind 'runway' only`);
    if (c.callbacks && (c.kind === "local" || !CALLBACK_KINDS.has(c.kind as UpstreamKind)))
      throw fail(`${at}: callbacks: kind '${c.kind}' pushes none (${[...CALLBACK_KINDS].join(", ")} do)`);
    if (c.callbackKeysUrl !== undefined && c.kind !== "fal")
      throw fail(`${at}: callbackKeysUrl is for kind 'fal' only`);
    const vertex = readVertex(c, secret, (msg) => fail(`${at}: ${msg}`));
    const comfyui = readComfyWorkflow(c, (msg) => fail(`${at}: ${msg}`));
    const signingKeys = readSigningKeys(c, env, (msg) => fail(`${at}: ${msg}`), secret !== null);
    const models =
      c.models === "*"
        ? ("*" as const)
        : new Map(Array.isArray(c.models) ? c.models.map((m) => [m, m] as const) : Object.entries(c.models));
    if (models !== "*") {
      for (const m of models.keys()) {
        if (!known.has(m)) throw fail(`${at}: model '${m}' is not in the model table`);
      }
    }
    return {
      id: c.id,
      kind: c.kind,
      baseUrl: c.baseUrl ?? null,
      secret,
      models,
      priority: c.priority,
      weight: c.weight,
      maxConcurrent: c.maxConcurrent,
      pollIntervalMs: Math.round(c.pollIntervalS * 1000),
      cooldown: c.cooldown,
      timeouts: c.timeouts,
      maxDownloadBytes: c.maxDownloadBytes,
      connections: c.connections,
      callbacks: c.callbacks,
      ...(c.callbackKeysUrl ? { callbackKeysUrl: c.callbackKeysUrl } : {}),
      ...(signingKeys ? { signingKeys } : {}),
      ...(c.runwayVersion ? { runwayVersion: c.runwayVersion } : {}),
      ...(vertex ? { vertex } : {}),
      ...(comfyui ? { comfyui } : {}),
    };
  });
  if (out.filter((c) => c.kind === "local").length > 1) throw fail("only one channel may be of kind 'local'");
  const unserved = models
    .filter((m) => listed.has(m.name) && !out.some((c) => servesModel(c, m.name, m)))
    .map((m) => m.name);
  if (unserved.length > 0)
    throw fail(
      `no channel serves model(s) ${unserved.join(", ")}: add them to a channel, or leave them out of the model table`,
    );
  return out;
}

/**
 * Kling's access key + secret key from the variables `accessKeyEnv` and `secretKeyEnv` name: only
 * for kind kling, both or neither, each set; a kling channel needs them or `secretEnv` (an API key).
 */
function readSigningKeys(
  c: z.infer<typeof channelSchema>,
  env: NodeJS.ProcessEnv,
  fail: (msg: string) => ConfigError,
  hasSecret: boolean,
): { accessKey: string; secretKey: string } | undefined {
  const named = [c.accessKeyEnv, c.secretKeyEnv].filter((v) => v !== undefined).length;
  if (named > 0 && c.kind !== "kling") throw fail("accessKeyEnv and secretKeyEnv are for kind 'kling' only");
  if (named === 1) throw fail("accessKeyEnv and secretKeyEnv go together: give both or neither");
  if (c.kind === "kling" && named === 0 && !hasSecret)
    throw fail("a kling channel needs secretEnv (an API key) or accessKeyEnv and secretKeyEnv");
  if (named === 0 || !c.accessKeyEnv || !c.secretKeyEnv) return undefined;
  const accessKey = env[c.accessKeyEnv] ?? "";
  const secretKey = env[c.secretKeyEnv] ?? "";
  if (!accessKey) throw fail(`accessKeyEnv names ${c.accessKeyEnv}, which is not set`);
  if (!secretKey) throw fail(`secretKeyEnv names ${c.secretKeyEnv}, which is not set`);
  return { accessKey, secretKey };
}

/**
 * A Vertex AI channel's settings: `project` and `location` required, a service-account key JSON
 * (`client_email`, `private_key`, `token_uri` or `tokenUrl`) in `secretEnv`; for kind vertex only.
 */
function readVertex(
  c: z.infer<typeof channelSchema>,
  secret: string | null,
  fail: (msg: string) => ConfigError,
): VertexChannelConfig | undefined {
  const given = [c.project, c.location, c.tokenUrl, c.storageUri, c.storageBaseUrl].some(
    (v) => v !== undefined,
  );
  if (c.kind !== "vertex") {
    if (given)
      throw fail("project, location, tokenUrl, storageUri and storageBaseUrl are for kind 'vertex' only");
    return undefined;
  }
  if (!c.project || !c.location) throw fail("a vertex channel needs project and location");
  if (!secret) throw fail("a vertex channel needs secretEnv (a service-account key JSON)");
  let key: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(secret);
    key = parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw fail(`secretEnv ${c.secretEnv} does not hold a service-account key JSON`);
  }
  if (typeof key.client_email !== "string" || typeof key.private_key !== "string")
    throw fail(`the key in ${c.secretEnv} lacks client_email or private_key`);
  if (typeof key.token_uri !== "string" && !c.tokenUrl)
    throw fail(`the key in ${c.secretEnv} has no token_uri: give tokenUrl`);
  return {
    project: c.project,
    location: c.location,
    ...(c.tokenUrl ? { tokenUrl: c.tokenUrl } : {}),
    ...(c.storageUri ? { storageUri: c.storageUri } : {}),
    storageBaseUrl: c.storageBaseUrl ?? "https://storage.googleapis.com",
  };
}

/**
 * A ComfyUI channel's workflow (`workflowFile`, API format) and `workflowMap`, read and checked
 * at start: each mapped path must name a node and an input of the workflow. Only for kind comfyui.
 */
function readComfyWorkflow(
  c: z.infer<typeof channelSchema>,
  fail: (msg: string) => ConfigError,
): { workflow: ComfyWorkflow; map: WorkflowMap } | undefined {
  if (c.kind !== "comfyui") {
    if (c.workflowFile !== undefined || c.workflowMap !== undefined)
      throw fail("workflowFile and workflowMap are for kind 'comfyui' only");
    return undefined;
  }
  if (!c.workflowFile || !c.workflowMap) throw fail("a comfyui channel needs workflowFile and workflowMap");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(resolve(c.workflowFile), "utf8"));
  } catch (e) {
    throw fail(`workflowFile ${c.workflowFile} cannot be read as JSON: ${(e as Error).message}`);
  }
  const workflow = parseWorkflow(json);
  if (typeof workflow === "string") throw fail(`workflowFile ${c.workflowFile}: ${workflow}`);
  const map = readWorkflowMap(workflow, c.workflowMap);
  if (typeof map === "string") throw fail(map);
  return { workflow, map };
}
