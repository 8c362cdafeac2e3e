/**
 * A small typed client for Reelay's unified API and admin key API, used by the CLI (and usable by
 * any TypeScript code). Response types are the ones the server's schemas define.
 */
import type { StoryboardBody } from "../core/storyboards/plan.js";
import type { UnifiedCreateBody } from "../core/tasks/params.js";
import type { VideoQuote } from "../http/money_schemas.js";
import type {
  AccountView,
  AdminKey,
  AdminKeyCreateResponse,
  AdminKeyList,
  AdminTaskList,
  ModelListResponse,
  StoryboardQuote,
  UsageResponse,
  VideoCreateResponse,
  VideoListResponse,
  VideoQueryResponse,
  VideoTaskList,
} from "../http/schemas.js";

export type { AdminKey, ModelListResponse, VideoCreateResponse, VideoQueryResponse, VideoQuote };

/** The storyboard body (`POST /v1/video/storyboards`), as the server's own schema defines it. */
export type StoryboardParams = StoryboardBody;
export type { StoryboardQuote };

/** The unified create body, as the server's own schema defines it. */
export type CreateVideoParams = UnifiedCreateBody;

/** An error answer from Reelay, with its HTTP status and the envelope's fields. */
export class ReelayApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly param: string | null,
    message: string,
  ) {
    super(message);
    this.name = "ReelayApiError";
  }
}

const TERMINAL = new Set(["completed", "failed", "cancelled"]);

export class ReelayClient {
  private readonly base: string;
  constructor(
    private readonly opts: { baseUrl: string; apiKey?: string | undefined; adminToken?: string | undefined },
  ) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
  }

  /**
   * fetch, with a network failure (refused, unknown host, a bad URL) turned into an `unreachable`
   * error naming the server's URL: fetch alone says only "fetch failed".
   */
  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, init);
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new ReelayApiError(0, "unreachable", null, `cannot reach Reelay at ${this.base} (${why})`);
    }
  }

  /** The token a call needs; refused before sending when it was never given. */
  private token(admin: boolean): string {
    const token = admin ? this.opts.adminToken : this.opts.apiKey;
    if (token) return token;
    throw admin
      ? new ReelayApiError(401, "missing_admin_token", null, "no admin token given (adminToken)")
      : new ReelayApiError(401, "missing_api_key", null, "no API key given (apiKey)");
  }

  private async call<T>(
    method: string,
    path: string,
    opts: { body?: unknown; admin?: boolean } = {},
  ): Promise<T> {
    const headers: Record<string, string> = {
      accept: "application/json",
      authorization: `Bearer ${this.token(opts.admin ?? false)}`,
    };
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    const res = await this.send(path, {
      method,
      headers,
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new ReelayApiError(
        res.status,
        "bad_response",
        null,
        `Unexpected response (${res.status}): ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; param?: string | null; message?: string } }).error;
      throw new ReelayApiError(
        res.status,
        e?.code ?? "error",
        e?.param ?? null,
        e?.message ?? `HTTP ${res.status}`,
      );
    }
    return json as T;
  }

  createVideo(params: CreateVideoParams): Promise<VideoCreateResponse> {
    return this.call("POST", "/v1/video/create", { body: params });
  }

  /** What `createVideo(params)` would cost and where it would go; creates nothing. */
  quoteVideo(params: CreateVideoParams): Promise<VideoQuote> {
    return this.call("POST", "/v1/video/quote", { body: params });
  }

  /** Creates a storyboard: its shots made in order and joined into one video (one task id). */
  createStoryboard(params: StoryboardParams & { dry_run?: false }): Promise<VideoCreateResponse> {
    return this.call("POST", "/v1/video/storyboards", { body: params });
  }

  /** What a storyboard would cost (the sum of its shots), creating nothing. */
  quoteStoryboard(params: StoryboardParams): Promise<StoryboardQuote> {
    return this.call("POST", "/v1/video/storyboards", { body: { ...params, dry_run: true } });
  }

  /** The server's models, each with what it accepts (`capabilities`). */
  listModels(): Promise<ModelListResponse> {
    return this.call("GET", "/v1/models");
  }

  queryVideo(id: string): Promise<VideoQueryResponse> {
    return this.call("GET", `/v1/video/query?id=${encodeURIComponent(id)}`);
  }

  cancelVideo(id: string): Promise<VideoQueryResponse> {
    return this.call("POST", `/v1/video/cancel?id=${encodeURIComponent(id)}`);
  }

  listVideos(
    opts: { limit?: number; after?: string; order?: "asc" | "desc" } = {},
  ): Promise<VideoListResponse> {
    const q = new URLSearchParams();
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.after) q.set("after", opts.after);
    if (opts.order) q.set("order", opts.order);
    return this.call("GET", `/v1/videos${q.size ? `?${q}` : ""}`);
  }

  /**
   * Your tasks in the unified view (`GET /v1/video/list`), newest first; `status` filters on the
   * server, `after` is the last id of the previous page.
   */
  listTasks(
    opts: {
      limit?: number;
      after?: string;
      status?: "pending" | "processing" | "completed" | "failed" | "cancelled";
    } = {},
  ): Promise<VideoTaskList> {
    const q = new URLSearchParams();
    if (opts.limit) q.set("limit", String(opts.limit));
    if (opts.after) q.set("after", opts.after);
    if (opts.status) q.set("status", opts.status);
    return this.call("GET", `/v1/video/list${q.size ? `?${q}` : ""}`);
  }

  /** Creates a video and polls until it ends; `onProgress` sees every poll. Bounded by `timeoutMs`. */
  async createAndWait(
    params: CreateVideoParams,
    opts: { onProgress?: (t: VideoQueryResponse) => void; intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<VideoQueryResponse> {
    const { id } = await this.createVideo(params);
    return this.waitFor(id, opts);
  }

  async waitFor(
    id: string,
    opts: { onProgress?: (t: VideoQueryResponse) => void; intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<VideoQueryResponse> {
    const until = Date.now() + (opts.timeoutMs ?? 3_600_000);
    for (;;) {
      const t = await this.queryVideo(id);
      opts.onProgress?.(t);
      if (TERMINAL.has(t.status)) return t;
      if (Date.now() > until) throw new ReelayApiError(0, "timeout", null, `Task ${id} still ${t.status}`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1000));
    }
  }

  /** The bytes of a finished video (or its thumbnail / spritesheet). */
  async download(id: string, variant: "video" | "thumbnail" | "spritesheet" = "video"): Promise<Response> {
    const res = await this.send(`/v1/videos/${encodeURIComponent(id)}/content?variant=${variant}`, {
      headers: { authorization: `Bearer ${this.token(false)}` },
    });
    if (!res.ok) {
      const e = ((await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } })
        .error;
      throw new ReelayApiError(res.status, e?.code ?? "error", null, e?.message ?? `HTTP ${res.status}`);
    }
    return res;
  }

  createKey(body: {
    name?: string;
    owner_id?: string;
    expires_at?: number;
    allowed_models?: string[];
  }): Promise<AdminKeyCreateResponse> {
    return this.call("POST", "/admin/keys", { body, admin: true });
  }

  listKeys(ownerId?: string): Promise<AdminKeyList> {
    return this.call("GET", `/admin/keys${ownerId ? `?owner_id=${encodeURIComponent(ownerId)}` : ""}`, {
      admin: true,
    });
  }

  topUp(ownerId: string, amount: number): Promise<AccountView> {
    return this.call("POST", `/admin/accounts/${encodeURIComponent(ownerId)}/credits`, {
      body: { amount },
      admin: true,
    });
  }

  account(ownerId: string): Promise<AccountView> {
    return this.call("GET", `/admin/accounts/${encodeURIComponent(ownerId)}`, { admin: true });
  }

  usage(days?: number): Promise<UsageResponse> {
    return this.call("GET", `/v1/usage${days ? `?days=${days}` : ""}`);
  }

  searchTasks(opts: { status?: string; ownerId?: string; limit?: number } = {}): Promise<AdminTaskList> {
    const q = new URLSearchParams();
    if (opts.status) q.set("status", opts.status);
    if (opts.ownerId) q.set("owner_id", opts.ownerId);
    if (opts.limit) q.set("limit", String(opts.limit));
    return this.call("GET", `/admin/tasks${q.size ? `?${q}` : ""}`, { admin: true });
  }

  revokeKey(id: string): Promise<AdminKey> {
    return this.call("DELETE", `/admin/keys/${encodeURIComponent(id)}`, { admin: true });
  }
}
