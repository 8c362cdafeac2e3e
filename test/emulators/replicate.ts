/**
 * An emulated Replicate predictions API, as Replicate documents it:
 * - `POST /v1/models/{owner}/{name}/predictions {input}` (official models) and
 *   `POST /v1/predictions {version, input}` (a 64-hex version id, alone or as
 *   `owner/name:<id>`) → 201 and the prediction `{id, model, version, input, logs, output: null,
 *   data_removed, error, status: "starting", created_at, urls: {get, cancel, web}}`;
 * - `GET /v1/predictions/{id}` → the prediction, `status` starting | processing | succeeded |
 *   failed | canceled, `output` the file's URL when succeeded, `error` when failed,
 *   `metrics.predict_time` (seconds) when it ended;
 * - `POST /v1/predictions/{id}/cancel` → the prediction, `canceled` unless it had already ended.
 * Bearer token; errors are problem+json `{title, detail, status}`: 401 "Unauthenticated",
 * 404 "Not found", 422 "Input validation failed" with `invalid_fields` (and "Invalid version or not
 * permitted"); 402 (insufficient credit) and 429 (throttled) are scripted with `replicateError`.
 * Inputs are checked against each model's published input schema (types, enums, required); other
 * keys are ignored, as Replicate's schema validation lets them through to the model.
 * Output files are kept at `/delivery/xezq/<token>/output.mp4` (replicate.delivery, unsigned) and,
 * with the prediction's output, removed `resultTtlMs` after the prediction ended (an hour by
 * default): the file then answers 404 and the prediction shows `output: null, data_removed: true`.
 * A moderation failure is a `failed` prediction whose `error` says so (scripted per task; default
 * text the E005 filter message reported for Replicate-hosted video models).
 * Video sizes: hailuo-02's 512p/768p/1080p are 910×512, 1366×768, 1920×1080 in 16:9, or the first
 * frame's aspect ratio (from a PNG data URL) at that short side; kling-v2.1 `pro` is 1080p,
 * `standard` 720p, likewise.
 *
 * Webhooks: a create's `webhook` URL gets the prediction posted when it starts and when it ends
 * (`webhook_events_filter`, default all), signed per Standard Webhooks (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64>`) with the account's secret, which
 * `GET /v1/webhooks/default/secret` answers as `{key: "whsec_…"}`.
 *
 * Sources: https://replicate.com/docs/reference/http; https://replicate.com/docs/topics/webhooks
 * (receive-webhooks, verify-webhook); https://replicate.com/docs/topics/predictions
 * (create-a-prediction, data-retention: "output files … automatically removed after an hour");
 * https://replicate.com/minimax/hailuo-02/versions/c43b610efe40d08a28d2c07cb3515dab1cd3324dfc7418f3304a092571071d22/api
 * (hailuo-02 input schema); https://replicate.com/kwaivgi/kling-v2.1/api (kling-v2.1 inputs, as
 * republished at api.core.today/v1/models/kwaivgi/kling-v2.1/llms.txt); problem bodies as Replicate
 * answers them in replicate/replicate-python tests and public error reports ("You did not pass a
 * valid authentication token", "Input validation failed" with `invalid_fields`); replicate/cog
 * PR #939 (failure texts such as "NSFW content detected").
 */
import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Webhook } from "standardwebhooks";
import {
  applyFault,
  type EmulatedTask,
  EmulatorCore,
  type Fault,
  listen,
  type RunningEmulator,
  readBody,
  sendFile,
  sendJson,
} from "./common.js";

type FieldType = "string" | "integer" | "boolean" | "uri";
interface Field {
  type: FieldType;
  enum?: readonly (string | number)[];
  required?: boolean;
}
interface ModelSchema {
  fields: Record<string, Field>;
  /** The input whose value sets the short side of the video, and its default. */
  sizeOf: (input: Record<string, unknown>) => { short: number; seconds: number };
  firstFrame: string;
}

const HAILUO_SHORT: Record<string, number> = { "512p": 512, "768p": 768, "1080p": 1080 };

/** The models the emulator runs, by `owner/name`, with their published input schemas. */
const MODELS: Record<string, ModelSchema> = {
  "minimax/hailuo-02": {
    fields: {
      prompt: { type: "string", required: true },
      first_frame_image: { type: "uri" },
      last_frame_image: { type: "uri" },
      duration: { type: "integer", enum: [6, 10] },
      resolution: { type: "string", enum: ["512p", "768p", "1080p"] },
      prompt_optimizer: { type: "boolean" },
    },
    sizeOf: (i) => ({
      short: HAILUO_SHORT[String(i.resolution ?? "1080p")] ?? 1080,
      seconds: typeof i.duration === "number" ? i.duration : 6,
    }),
    firstFrame: "first_frame_image",
  },
  "kwaivgi/kling-v2.1": {
    fields: {
      prompt: { type: "string", required: true },
      start_image: { type: "uri", required: true },
      end_image: { type: "uri" },
      duration: { type: "integer", enum: [5, 10] },
      negative_prompt: { type: "string" },
      mode: { type: "string", enum: ["standard", "pro"] },
    },
    sizeOf: (i) => ({
      short: i.mode === "pro" ? 1080 : 720,
      seconds: typeof i.duration === "number" ? i.duration : 5,
    }),
    firstFrame: "start_image",
  },
};

/** Published versions (`version` ids) of the models above. */
const VERSIONS: Record<string, string> = {
  c43b610efe40d08a28d2c07cb3515dab1cd3324dfc7418f3304a092571071d22: "minimax/hailuo-02",
};

/** The text Replicate-hosted video models report when their content filter refuses a task. */
export const MODERATION_ERROR =
  "The input or output was flagged as sensitive. Please try again with different inputs. (E005)";

/** A Replicate problem+json answer, as a scripted fault for a route (`create`, `get`, `cancel`, `download`). */
export function replicateError(status: number, title: string, detail: string, retryAfterS?: number): Fault {
  return {
    kind: "status",
    status,
    contentType: "application/problem+json",
    body: JSON.stringify({ title, detail, status }),
    ...(retryAfterS === undefined ? {} : { retryAfterS }),
  };
}

export interface ReplicateEmulator extends RunningEmulator {
  /** How long output files (and the output) are kept after a prediction ends. */
  resultTtlMs: number;
  /** `owner/name` (or `owner/name` of the version) each prediction ran, by prediction id. */
  readonly modelOf: Map<string, string>;
  /** The account's webhook signing secret (`whsec_…`). */
  readonly webhookSecret: string;
}

/** Standard Webhooks headers for `body`, as Replicate signs its webhooks. */
export function signReplicateWebhook(
  secret: string,
  body: string,
  at = new Date(),
  id = `msg_${randomUUID()}`,
): Record<string, string> {
  return {
    "webhook-id": id,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": new Webhook(secret).sign(id, at, body),
  };
}

function pngSize(dataUrl: string): { width: number; height: number } | null {
  const m = /^data:image\/png;base64,(.+)$/.exec(dataUrl);
  if (!m?.[1]) return null;
  const b = Buffer.from(m[1], "base64");
  if (b.length < 24 || b.toString("ascii", 12, 16) !== "IHDR") return null;
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Schema violations of `input` for `schema`, as Replicate lists them in `invalid_fields`. */
function invalidFields(
  schema: ModelSchema,
  input: Record<string, unknown>,
): { type: string; field: string; description: string }[] {
  const out: { type: string; field: string; description: string }[] = [];
  for (const [name, f] of Object.entries(schema.fields)) {
    const v = input[name];
    if (v === undefined || v === null) {
      if (f.required) out.push({ type: "required", field: "input", description: `${name} is required` });
      continue;
    }
    const typeOk =
      f.type === "integer"
        ? Number.isInteger(v)
        : f.type === "boolean"
          ? typeof v === "boolean"
          : f.type === "uri"
            ? typeof v === "string" && /^(https?:\/\/|data:[\w/+.-]+;base64,)/.test(v)
            : typeof v === "string";
    if (!typeOk) {
      const want = f.type === "uri" ? "string (uri)" : f.type;
      out.push({
        type: "invalid_type",
        field: `input.${name}`,
        description: `Invalid type. Expected: ${want}`,
      });
      continue;
    }
    if (f.enum && !f.enum.includes(v as string | number))
      out.push({
        type: "enum",
        field: `input.${name}`,
        description: `${name} must be one of the following: ${f.enum.map((e) => JSON.stringify(e)).join(", ")}`,
      });
  }
  return out;
}

export async function startReplicate(opts: {
  secret: string;
  port?: number;
  resultTtlMs?: number;
}): Promise<ReplicateEmulator> {
  const core = new EmulatorCore(opts.secret);
  const modelOf = new Map<string, string>();
  const versionOf = new Map<string, string | null>();
  const endedAt = new Map<string, number>();
  const webhookSecret = `whsec_${randomBytes(24).toString("base64")}`;
  const tokens = new Map<string, string>();
  const byToken = new Map<string, EmulatedTask>();
  let emu: ReplicateEmulator;

  const problem = (status: number, title: string, detail: string, extra: object = {}) => ({
    status,
    body: { title, detail, status, ...extra },
  });

  const phaseOf = (t: EmulatedTask, countPoll = true) => {
    const { phase } = core.phaseOf(t, countPoll);
    if (phase !== "queued" && phase !== "running" && !endedAt.has(t.id)) endedAt.set(t.id, Date.now());
    return phase;
  };

  /** The prediction; `created`: the create's answer (`starting`, not counted as a poll). */
  const view = (t: EmulatedTask, base: string, created = false, countPoll = true) => {
    const phase = created ? "queued" : phaseOf(t, countPoll);
    const ended = endedAt.get(t.id);
    const removed = ended !== undefined && Date.now() > ended + emu.resultTtlMs;
    const status = created
      ? "starting"
      : t.cancelled
        ? "canceled"
        : phase === "completed"
          ? "succeeded"
          : phase === "failed" || phase === "expired"
            ? "failed"
            : core.runningStatus(t, phase === "queued" ? "starting" : "processing");
    let output: string | null = null;
    if (status === "succeeded" && !removed) {
      let token = tokens.get(t.id);
      if (!token) {
        token = randomBytes(16).toString("hex");
        tokens.set(t.id, token);
        byToken.set(token, t);
      }
      output = `${t.behaviour.resultOrigin ?? running.url}/delivery/xezq/${token}/output.mp4`;
    }
    const failed = status === "failed";
    return {
      id: t.id,
      model: modelOf.get(t.id) ?? null,
      version: versionOf.get(t.id) ?? null,
      input: removed ? {} : t.input,
      logs: "",
      output,
      data_removed: removed,
      error: failed ? (t.behaviour.failMessage ?? MODERATION_ERROR) : null,
      ...(status === undefined ? {} : { status }),
      source: "api",
      created_at: new Date(t.createdAt).toISOString(),
      ...(ended !== undefined
        ? {
            started_at: new Date(t.createdAt + 200).toISOString(),
            completed_at: new Date(ended).toISOString(),
            metrics: { predict_time: Math.max(0, (ended - t.createdAt - 200) / 1000) },
          }
        : { metrics: {} }),
      urls: {
        get: `${base}/v1/predictions/${t.id}`,
        cancel: `${base}/v1/predictions/${t.id}/cancel`,
        web: `https://replicate.com/p/${t.id}`,
      },
    };
  };

  const unauthenticated = () =>
    problem(401, "Unauthenticated", "You did not pass a valid authentication token");

  async function create(req: IncomingMessage, path: string) {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse((await readBody(req)).toString("utf8"));
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      body = parsed as Record<string, unknown>;
    } catch {
      return problem(400, "Bad request", "The request body is not a valid JSON object");
    }
    let model: string | undefined;
    let version: string | null = null;
    const m = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(path);
    if (m?.[1] && m[2]) {
      model = `${decodeURIComponent(m[1])}/${decodeURIComponent(m[2])}`;
      if (!MODELS[model]) return problem(404, "Not found", "The requested resource could not be found.");
    } else {
      const v = typeof body.version === "string" ? body.version : "";
      if (!v)
        return problem(422, "Input validation failed", "- version is required\n", {
          invalid_fields: [{ type: "required", field: "", description: "version is required" }],
        });
      const id = /^(?:[\w.-]+\/[\w.-]+:)?([0-9a-f]{64})$/.exec(v)?.[1];
      model = id ? VERSIONS[id] : undefined;
      if (!id || !model)
        return problem(
          422,
          "Invalid version or not permitted",
          "The specified version does not exist (or perhaps you don't have permission to use it?)",
        );
      version = id;
    }
    const schema = MODELS[model];
    const input = body.input;
    if (!schema || !input || typeof input !== "object" || Array.isArray(input))
      return problem(422, "Input validation failed", "- input is required\n", {
        invalid_fields: [{ type: "required", field: "", description: "input is required" }],
      });
    const inp = input as Record<string, unknown>;
    const bad = invalidFields(schema, inp);
    if (bad.length > 0)
      return problem(
        422,
        "Input validation failed",
        bad.map((b) => `- ${b.field}: ${b.description}\n`).join(""),
        {
          invalid_fields: bad,
        },
      );
    const { short, seconds } = schema.sizeOf(inp);
    let [width, height] = [even((short * 16) / 9), short];
    if (short === 768) width = 1366;
    const first = inp[schema.firstFrame];
    const png = typeof first === "string" ? pngSize(first) : null;
    if (png && png.width > 0 && png.height > 0)
      [width, height] =
        png.width >= png.height
          ? [even((short * png.width) / png.height), short]
          : [short, even((short * png.height) / png.width)];
    const t = core.newTask("", inp, { width, height, seconds }, null);
    modelOf.set(t.id, model);
    versionOf.set(t.id, version);
    if (typeof body.webhook === "string") webhookOf(t, body.webhook, body.webhook_events_filter);
    return { status: 201, body: view(t, running.url, true) };
  }

  /** Posts the prediction to `url` when it starts and when it ends (as the filter asks), signed. */
  function webhookOf(t: EmulatedTask, url: string, filter: unknown): void {
    const events = Array.isArray(filter) ? filter : ["start", "output", "logs", "completed"];
    const post = async () => {
      const body = JSON.stringify(view(t, running.url, false, false));
      await core.postCallback(t.id, url, body, signReplicateWebhook(webhookSecret, body));
    };
    if (events.includes("start")) core.later(250, post);
    if (events.includes("completed"))
      core.callbackAtEnd(t, url, () => {
        const body = view(t, running.url, false, false);
        return { body, headers: signReplicateWebhook(webhookSecret, JSON.stringify(body)) };
      });
  }

  const running = await listen(
    core,
    async (req, res, url) => {
      const p = url.pathname;
      const route =
        p === "/v1/webhooks/default/secret"
          ? "webhook-secret"
          : p === "/v1/predictions" || /^\/v1\/models\/[^/]+\/[^/]+\/predictions$/.test(p)
            ? "create"
            : /^\/v1\/predictions\/[^/]+\/cancel$/.test(p)
              ? "cancel"
              : /^\/v1\/predictions\/[^/]+$/.test(p)
                ? "get"
                : p.startsWith("/delivery/")
                  ? "download"
                  : "other";
      core.log(route, req);
      if (await applyFault(core.takeFault(route), req, res)) return;
      const answer = (a: { status: number; body: unknown }) =>
        sendJson(
          res,
          a.status,
          a.body,
          a.status >= 400 ? { "content-type": "application/problem+json" } : {},
        );
      if (route === "download") {
        // replicate.delivery: no credential; gone once the prediction's data is removed.
        const token = /^\/delivery\/xezq\/([0-9a-f]+)\/output\.mp4$/.exec(p)?.[1];
        const t = token ? byToken.get(token) : undefined;
        const ended = t ? endedAt.get(t.id) : undefined;
        if (!t || ended === undefined || Date.now() > ended + emu.resultTtlMs) {
          res.writeHead(404, { "content-type": "text/plain" });
          res.end("Not Found");
          return;
        }
        return sendFile(res, await core.video(t), "video/mp4");
      }
      if (route === "other")
        return answer(problem(404, "Not found", "The requested resource could not be found."));
      if (!core.authorised(req)) return answer(unauthenticated());
      if (route === "webhook-secret") return answer({ status: 200, body: { key: webhookSecret } });
      if (route === "create") {
        if (req.method !== "POST") return answer(problem(405, "Method not allowed", "Use POST"));
        return answer(await create(req, p));
      }
      const id = decodeURIComponent(p.split("/")[3] ?? "");
      const t = core.tasks.get(id);
      if (!t) return answer(problem(404, "Not found", "The requested resource could not be found."));
      if (route === "cancel") {
        if (req.method !== "POST") return answer(problem(405, "Method not allowed", "Use POST"));
        const phase = phaseOf(t);
        if (phase === "queued" || phase === "running") {
          t.cancelled = true;
          endedAt.set(t.id, Date.now());
        }
        return answer({ status: 200, body: view(t, running.url) });
      }
      return answer({ status: 200, body: view(t, running.url) });
    },
    opts.port,
  );
  emu = Object.assign(running, { resultTtlMs: opts.resultTtlMs ?? 3600 * 1000, modelOf, webhookSecret });
  return emu;
}
