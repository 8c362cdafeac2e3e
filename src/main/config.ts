/**
 * Configuration: read once from the environment at start-up into one typed object. A bad value
 * stops start-up with a message that names the variable.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_MODELS, type ModelCapability } from "../core/catalogue/models.js";
import type { PriceTable } from "../core/catalogue/pricing.js";
import { type ChannelConfig, channelSchema, offeredModels, readChannels } from "./channel_config.js";
import { ConfigError, httpUrl } from "./config_parts.js";
import { buildCatalogue, modelEntrySchema } from "./model_config.js";

export type { ChannelConfig } from "./channel_config.js";
export { ConfigError } from "./config_parts.js";

export interface Config {
  readonly port: number;
  readonly host: string;
  /** `reelay worker` only: where it serves /healthz, /readyz and /metrics; undefined: no HTTP at all. */
  readonly workerPort: number | undefined;
  readonly dataDir: string;
  /** From REELAY_ADMIN_TOKEN; undefined means "use or create the token file in the data dir". */
  readonly adminToken: string | undefined;
  readonly publicUrl: string;
  readonly signingSecret: string | undefined;
  readonly linkTtlS: number;
  /** How long an API key looked up is trusted without reading the store again (ms; 0: off). */
  readonly keyCacheTtlMs: number;
  readonly logLevel: string;
  readonly models: readonly ModelCapability[];
  readonly engine: {
    readonly concurrency: number;
    readonly maxAttempts: number;
    readonly taskTimeoutS: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly leaseMs: number;
    readonly pollIntervalMs: number;
    readonly progressWriteMs: number;
    readonly watermarkAttempts: number;
    readonly submitConcurrency: number;
  };
  readonly images: {
    readonly allowHosts: readonly string[];
    readonly maxBytes: number;
    readonly timeoutMs: number;
    readonly maxRedirects: number;
  };
  readonly webhooks: {
    /** Hosts exempt from the SSRF address check (the same list as images.allowHosts). */
    readonly allowHosts: readonly string[];
    /** Waits before each retry; its length + 1 attempts in all. */
    readonly retryScheduleMs: readonly number[];
    readonly timeoutMs: number;
    readonly concurrency: number;
    /** Finished deliveries are kept this long after their last attempt (0: for ever). */
    readonly retentionMs: number;
  };
  /** The operator's dashboard: how often figures are rolled up, and how long a minute settles first. */
  readonly stats: { readonly intervalMs: number; readonly settleMs: number };
  /** Largest uploaded video (edits, extensions); images use images.maxBytes. */
  readonly uploadMaxBytes: number;
  /** How long a non-streaming chat completion waits for its video. */
  readonly chatWaitS: number;
  /** Live event streams (`GET /v1/videos/{id}/events`, `GET /v1/video/events`). */
  readonly events: {
    /** A comment is sent on a quiet stream this often, so that proxies keep it open. */
    readonly heartbeatMs: number;
    /** Streams one key may hold open at once on one process. */
    readonly maxStreamsPerKey: number;
    /** How often a process with open streams looks for changes other processes made (shared database). */
    readonly tailMs: number;
  };
  /** Time a client has to send a whole request. */
  readonly requestTimeoutMs: number;
  /** The price table; null: billing is off (keys work without credits). */
  readonly pricing: PriceTable | null;
  /** Whether the local renderer marks its videos (to exercise the watermark pipeline). */
  readonly localWatermark: boolean;
  /** Default per-key limits; 0: none. */
  readonly limits: { readonly ratePerMin: number; readonly burst: number; readonly maxActive: number };
  /** Reelay's own version (package.json). */
  readonly version: string;
  readonly ffmpegPath: string | undefined;
  readonly ffprobePath: string | undefined;
  /** Scale-out mode: PostgreSQL + pg-boss instead of the embedded SQLite database. */
  readonly database: {
    readonly url: string;
    readonly poolSize: number;
    /** How often pg-boss looks for jobs whose worker died (their leases expired). */
    readonly maintenanceIntervalS: number;
  } | null;
  /** Where results live: the data dir, or an S3-compatible bucket. */
  readonly storage: { readonly kind: "fs" } | ({ readonly kind: "s3" } & S3Settings);
  /** Where tasks go: the local renderer and upstream accounts (REELAY_CONFIG_FILE `channels`). */
  readonly channels: readonly ChannelConfig[];
  readonly poller: {
    readonly concurrency: number;
    readonly fetchConcurrency: number;
    readonly leaseMs: number;
    readonly idleMs: number;
    readonly maxBackoffMs: number;
    readonly fetchAttempts: number;
  };
}

export interface S3Settings {
  readonly bucket: string;
  readonly region: string;
  /** For S3-compatible servers (MinIO, …); undefined: AWS. */
  readonly endpoint: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  /** Bucket in the path, not the host name (most S3-compatible servers need it). */
  readonly forcePathStyle: boolean;
  /** Prepended to every object key, e.g. `reelay/`. */
  readonly prefix: string;
  /** Download links: a redirect to a presigned URL, or streamed through Reelay (with Range). */
  readonly delivery: "redirect" | "proxy";
}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, "must be a whole number")
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max}`);

const envSchema = z.object({
  PORT: int(0, 65535).default(8787),
  REELAY_WORKER_PORT: int(0, 65535).optional(),
  HOST: z.string().min(1).default("0.0.0.0"),
  REELAY_DATA_DIR: z.string().min(1).default("./data"),
  REELAY_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
  REELAY_PUBLIC_URL: httpUrl.optional(),
  REELAY_SIGNING_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  REELAY_LINK_TTL_S: int(60, 30 * 24 * 3600).default(24 * 3600),
  REELAY_KEY_CACHE_TTL_MS: int(0, 300_000).default(5000),
  REELAY_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  REELAY_CONFIG_FILE: z.string().min(1).optional(),
  REELAY_WORKER_CONCURRENCY: int(0, 256).optional(),
  REELAY_MAX_ATTEMPTS: int(1, 20).default(3),
  REELAY_TASK_TIMEOUT_S: int(10, 7 * 24 * 3600).default(3600),
  REELAY_RETRY_BASE_MS: int(10, 3_600_000).default(2000),
  REELAY_RETRY_MAX_MS: int(10, 24 * 3_600_000).default(60_000),
  REELAY_ALLOW_HOSTS: z.string().default(""),
  // The older name, from before webhooks shared the list: still read, merged with REELAY_ALLOW_HOSTS.
  REELAY_IMAGE_ALLOW_HOSTS: z.string().default(""),
  REELAY_WEBHOOK_RETRY_SCHEDULE: z
    .string()
    .default("5s,5m,30m,2h,5h,10h,10h")
    .transform((v, ctx) => {
      const parts = v.split(",").map((p) => p.trim());
      const ms = parts.map(durationMs);
      if (parts.length > 30 || ms.some((n) => n === null)) {
        ctx.addIssue({
          code: "custom",
          message: "must be a comma-separated list of up to 30 durations such as 500ms, 5s, 5m, 2h",
        });
        return z.NEVER;
      }
      return ms as number[];
    }),
  REELAY_WEBHOOK_TIMEOUT_MS: int(100, 120_000).default(15_000),
  REELAY_WEBHOOK_CONCURRENCY: int(1, 256).default(4),
  REELAY_WEBHOOK_RETENTION_DAYS: int(0, 36_500).default(30),
  REELAY_STATS_INTERVAL_MS: int(50, 3_600_000).default(10_000),
  REELAY_STATS_SETTLE_MS: int(0, 3_600_000).default(5_000),
  REELAY_IMAGE_MAX_BYTES: int(1024, 512 * 1024 * 1024).default(20 * 1024 * 1024),
  REELAY_IMAGE_TIMEOUT_MS: int(100, 600_000).default(15_000),
  REELAY_UPLOAD_MAX_BYTES: int(1024, 4 * 1024 * 1024 * 1024).default(200 * 1024 * 1024),
  REELAY_CHAT_WAIT_S: int(1, 3600).default(600),
  REELAY_EVENTS_HEARTBEAT_S: int(1, 3600).default(15),
  REELAY_EVENTS_MAX_STREAMS_PER_KEY: int(1, 100_000).default(50),
  REELAY_EVENTS_TAIL_MS: int(50, 60_000).default(500),
  REELAY_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  REELAY_WATERMARK_ATTEMPTS: int(1, 20).default(3),
  REELAY_LOCAL_WATERMARK: z.enum(["true", "false", "1", "0"]).default("false"),
  REELAY_RATE_LIMIT_PER_MIN: int(0, 1_000_000).default(0),
  REELAY_RATE_LIMIT_BURST: int(1, 1_000_000).optional(),
  REELAY_MAX_ACTIVE_TASKS: int(0, 1_000_000).default(0),
  REELAY_JOB_LEASE_S: int(1, 3600).default(30),
  REELAY_POLL_INTERVAL_MS: int(50, 60_000).default(1000),
  REELAY_DATABASE_URL: z
    .string()
    .refine((s) => /^postgres(ql)?:\/\//.test(s) && URL.canParse(s), "must be a postgres:// URL")
    .optional(),
  REELAY_DATABASE_POOL_SIZE: int(2, 1000).default(10),
  REELAY_QUEUE_MAINTENANCE_S: int(1, 3600).default(10),
  REELAY_STORAGE: z.enum(["fs", "s3"]).default("fs"),
  REELAY_S3_BUCKET: z.string().min(3).optional(),
  REELAY_S3_REGION: z.string().min(1).default("us-east-1"),
  REELAY_S3_ENDPOINT: httpUrl.optional(),
  REELAY_S3_ACCESS_KEY_ID: z.string().min(1).optional(),
  REELAY_S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  REELAY_S3_FORCE_PATH_STYLE: z.enum(["true", "false", "1", "0"]).default("false"),
  REELAY_S3_PREFIX: z.string().default(""),
  REELAY_S3_DELIVERY: z.enum(["redirect", "proxy"]).default("redirect"),
  FFMPEG_PATH: z.string().min(1).optional(),
  FFPROBE_PATH: z.string().min(1).optional(),
  REELAY_POLL_CONCURRENCY: int(1, 10_000).default(256),
  REELAY_SUBMIT_CONCURRENCY: int(1, 1024).default(16),
  REELAY_FETCH_CONCURRENCY: int(1, 256).default(4),
});

const pricingSchema = z.strictObject({
  perTask: z
    .array(
      z.strictObject({
        model: z.string(),
        size: z.string().optional(),
        duration: z.int().positive().optional(),
        credits: z.int().min(0),
      }),
    )
    .default([]),
  perSecond: z.record(z.string(), z.int().min(0)).default({}),
});
const fileSchema = z.strictObject({
  models: z.array(modelEntrySchema).optional(),
  /** false: the table is only the file's `models` (no built-in models). */
  builtinModels: z.boolean().default(true),
  pricing: pricingSchema.optional(),
  channels: z.array(channelSchema).min(1).optional(),
});

/** `500ms`, `5s`, `5m`, `2h` → milliseconds (at most a day); null when it is none of these. */
function durationMs(s: string): number | null {
  const m = /^(\d{1,9})(ms|s|m|h)$/.exec(s);
  if (!m) return null;
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return n <= 24 * 3_600_000 ? n : null;
}

const describe = (issue: z.core.$ZodIssue): string => `${issue.path.join(".") || "(root)"} ${issue.message}`;

function readConfigFile(path: string): z.infer<typeof fileSchema> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new ConfigError(`REELAY_CONFIG_FILE: cannot read ${path} as JSON: ${(e as Error).message}`);
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`REELAY_CONFIG_FILE ${path}: ${parsed.error.issues.map(describe).join("; ")}`);
  }
  return parsed.data;
}

function packageVersion(): string {
  // src/main and dist/main both sit two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: string;
  };
  return pkg.version ?? "0.0.0";
}

/** Parses the environment. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  // Empty variables count as unset: `PORT= npm start` should not be an error.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid ${name}=${JSON.stringify(present[name] ?? "")}: ${issue.message}`);
  }
  const e = parsed.data;
  const file = e.REELAY_CONFIG_FILE ? readConfigFile(e.REELAY_CONFIG_FILE) : fileSchema.parse({});
  if (e.REELAY_STORAGE === "s3" && !e.REELAY_S3_BUCKET) {
    throw new ConfigError("Invalid REELAY_S3_BUCKET: must be set when REELAY_STORAGE=s3");
  }
  if (e.REELAY_DATABASE_URL && (!e.REELAY_ADMIN_TOKEN || !e.REELAY_SIGNING_SECRET)) {
    // Generated secrets live in one data dir; processes sharing a database must share them too.
    throw new ConfigError(
      "Invalid REELAY_DATABASE_URL: with a shared database, set REELAY_ADMIN_TOKEN and REELAY_SIGNING_SECRET too (the same in every process)",
    );
  }
  if (e.REELAY_RETRY_MAX_MS < e.REELAY_RETRY_BASE_MS) {
    throw new ConfigError("Invalid REELAY_RETRY_MAX_MS: must not be less than REELAY_RETRY_BASE_MS");
  }
  const allowHosts = [
    ...new Set(
      `${e.REELAY_ALLOW_HOSTS},${e.REELAY_IMAGE_ALLOW_HOSTS}`
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
  const catalogue = buildCatalogue(
    file.builtinModels === false ? [] : DEFAULT_MODELS,
    file.models ?? [],
    e.REELAY_CONFIG_FILE ?? "",
  );
  // Models the file names: each must be served by some channel (built-ins are offered where served).
  const listed = new Set((file.models ?? []).filter((m) => !m.remove).map((m) => m.name));
  const channels = readChannels(file.channels, catalogue, env, e.REELAY_CONFIG_FILE ?? "", listed);
  return {
    port: e.PORT,
    host: e.HOST,
    workerPort: e.REELAY_WORKER_PORT,
    dataDir: resolve(e.REELAY_DATA_DIR),
    adminToken: e.REELAY_ADMIN_TOKEN,
    publicUrl: e.REELAY_PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    signingSecret: e.REELAY_SIGNING_SECRET,
    linkTtlS: e.REELAY_LINK_TTL_S,
    keyCacheTtlMs: e.REELAY_KEY_CACHE_TTL_MS,
    logLevel: e.REELAY_LOG_LEVEL,
    models: offeredModels(catalogue, channels),
    engine: {
      concurrency: e.REELAY_WORKER_CONCURRENCY ?? availableParallelism(),
      maxAttempts: e.REELAY_MAX_ATTEMPTS,
      taskTimeoutS: e.REELAY_TASK_TIMEOUT_S,
      backoffBaseMs: e.REELAY_RETRY_BASE_MS,
      backoffMaxMs: e.REELAY_RETRY_MAX_MS,
      leaseMs: e.REELAY_JOB_LEASE_S * 1000,
      pollIntervalMs: e.REELAY_POLL_INTERVAL_MS,
      progressWriteMs: 500,
      watermarkAttempts: e.REELAY_WATERMARK_ATTEMPTS,
      submitConcurrency: e.REELAY_SUBMIT_CONCURRENCY,
    },
    images: {
      allowHosts,
      maxBytes: e.REELAY_IMAGE_MAX_BYTES,
      timeoutMs: e.REELAY_IMAGE_TIMEOUT_MS,
      maxRedirects: 3,
    },
    webhooks: {
      allowHosts,
      retryScheduleMs: e.REELAY_WEBHOOK_RETRY_SCHEDULE,
      timeoutMs: e.REELAY_WEBHOOK_TIMEOUT_MS,
      concurrency: e.REELAY_WEBHOOK_CONCURRENCY,
      retentionMs: e.REELAY_WEBHOOK_RETENTION_DAYS * 24 * 3600 * 1000,
    },
    stats: { intervalMs: e.REELAY_STATS_INTERVAL_MS, settleMs: e.REELAY_STATS_SETTLE_MS },
    uploadMaxBytes: e.REELAY_UPLOAD_MAX_BYTES,
    chatWaitS: e.REELAY_CHAT_WAIT_S,
    events: {
      heartbeatMs: e.REELAY_EVENTS_HEARTBEAT_S * 1000,
      maxStreamsPerKey: e.REELAY_EVENTS_MAX_STREAMS_PER_KEY,
      tailMs: e.REELAY_EVENTS_TAIL_MS,
    },
    requestTimeoutMs: e.REELAY_REQUEST_TIMEOUT_MS,
    version: packageVersion(),
    localWatermark: e.REELAY_LOCAL_WATERMARK === "true" || e.REELAY_LOCAL_WATERMARK === "1",
    // Billing is on once the file has `pricing`; the catalogue's prices then fill in for models it does not price.
    pricing: file.pricing
      ? { ...file.pricing, catalogue: new Map(catalogue.filter((m) => m.price).map((m) => [m.name, m])) }
      : null,
    limits: {
      ratePerMin: e.REELAY_RATE_LIMIT_PER_MIN,
      burst: e.REELAY_RATE_LIMIT_BURST ?? Math.max(1, e.REELAY_RATE_LIMIT_PER_MIN),
      maxActive: e.REELAY_MAX_ACTIVE_TASKS,
    },
    ffmpegPath: e.FFMPEG_PATH,
    ffprobePath: e.FFPROBE_PATH,
    database: e.REELAY_DATABASE_URL
      ? {
          url: e.REELAY_DATABASE_URL,
          poolSize: e.REELAY_DATABASE_POOL_SIZE,
          maintenanceIntervalS: e.REELAY_QUEUE_MAINTENANCE_S,
        }
      : null,
    storage:
      e.REELAY_STORAGE === "s3"
        ? {
            kind: "s3",
            bucket: e.REELAY_S3_BUCKET ?? "",
            region: e.REELAY_S3_REGION,
            endpoint: e.REELAY_S3_ENDPOINT,
            accessKeyId: e.REELAY_S3_ACCESS_KEY_ID,
            secretAccessKey: e.REELAY_S3_SECRET_ACCESS_KEY,
            forcePathStyle: e.REELAY_S3_FORCE_PATH_STYLE === "true" || e.REELAY_S3_FORCE_PATH_STYLE === "1",
            prefix: e.REELAY_S3_PREFIX,
            delivery: e.REELAY_S3_DELIVERY,
          }
        : { kind: "fs" },
    channels,
    poller: {
      concurrency: e.REELAY_POLL_CONCURRENCY,
      fetchConcurrency: e.REELAY_FETCH_CONCURRENCY,
      // The same lease as jobs': a dead worker's upstream tasks are polled again as soon as its jobs run again.
      leaseMs: e.REELAY_JOB_LEASE_S * 1000,
      idleMs: 250,
      maxBackoffMs: 60_000,
      fetchAttempts: 5,
    },
  };
}
