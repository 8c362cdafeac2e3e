/**
 * The page's client of Reelay's public API: every call sends the signed-in token as a Bearer token
 * and turns the error envelope `{error: {message, code, param}}` into an ApiError.
 */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string | null} param the request field at fault, when the server names one
   * @param {string} message
   */
  constructor(status, code, param, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.param = param;
  }
}

const FINAL_EVENTS = new Set(["video.completed", "video.failed", "video.cancelled"]);

/**
 * Splits Server-Sent Events text into events, per the SSE standard's field rules; returns the
 * events whole so far and the unfinished rest.
 * @param {string} text
 * @returns {{ events: { id: string | null, type: string, data: string }[], rest: string }}
 */
export function parseSse(text) {
  const events = [];
  const blocks = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    /** @type {string | null} */
    let id = null;
    let type = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const at = line.indexOf(":");
      const field = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") type = value;
      else if (field === "data") data.push(value);
    }
    if (id !== null || data.length > 0) events.push({ id, type, data: data.join("\n") });
  }
  return { events, rest };
}

/** @param {() => string | null} token */
export function createApi(token) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   */
  async function call(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { accept: "application/json" };
    const t = token();
    if (t) headers.authorization = `Bearer ${t}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, "network_error", null, "Reelay could not be reached. Check your connection.");
    }
    const text = await res.text();
    let json;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new ApiError(res.status, "bad_response", null, `Unexpected answer (HTTP ${res.status}).`);
    }
    if (!res.ok) {
      const e = json.error ?? {};
      throw new ApiError(res.status, e.code ?? "error", e.param ?? null, e.message ?? `HTTP ${res.status}`);
    }
    return json;
  }
  /**
   * Follows a task's event stream (`GET /v1/video/events`) until its final event, calling `onTask`
   * with the task as each event shows it. An EventSource cannot send the Bearer key, so the page
   * reads the same stream with fetch, and after a dropped connection resumes it the way an
   * EventSource would: with Last-Event-ID, after a pause that grows to 5 s.
   * @param {string} id
   * @param {(task: any, type: string) => void} onTask
   * @param {AbortSignal} signal
   * @param {(e: unknown) => void} onRetry told of each dropped connection before the pause
   */
  async function follow(id, onTask, signal, onRetry) {
    let last = "";
    for (let drops = 0; !signal.aborted; drops++) {
      if (drops > 0) await new Promise((r) => setTimeout(r, Math.min(drops, 5) * 1000));
      /** @type {Record<string, string>} */
      const headers = { accept: "text/event-stream" };
      const t = token();
      if (t) headers.authorization = `Bearer ${t}`;
      if (last) headers["last-event-id"] = last;
      try {
        const res = await fetch(`/v1/video/events?id=${encodeURIComponent(id)}`, { headers, signal });
        if (!res.ok || !res.body) {
          const e = (await res.json().catch(() => ({}))).error ?? {};
          throw new ApiError(
            res.status,
            e.code ?? "error",
            e.param ?? null,
            e.message ?? `HTTP ${res.status}`,
          );
        }
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        let buffered = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          const { events, rest } = parseSse(buffered + decoder.decode(value, { stream: true }));
          buffered = rest;
          for (const e of events) {
            if (e.id !== null) last = e.id;
            if (e.data) onTask(JSON.parse(e.data), e.type);
            if (FINAL_EVENTS.has(e.type)) return;
          }
        }
        onRetry(new ApiError(0, "network_error", null, "The live connection to Reelay ended."));
      } catch (e) {
        if (signal.aborted) return;
        // A refusal (gone, signed out) is final; a network blip is retried.
        if (e instanceof ApiError && e.status >= 400 && e.status !== 429) throw e;
        onRetry(e);
      }
    }
  }
  const q = (/** @type {Record<string, string | number | undefined>} */ params) => {
    const s = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") s.set(k, String(v));
    return s.size ? `?${s}` : "";
  };
  const enc = encodeURIComponent;
  return {
    models: () => call("GET", "/v1/models"),
    usage: () => call("GET", "/v1/usage"),
    me: () => call("GET", "/v1/me"),
    create: (/** @type {object} */ body) => call("POST", "/v1/video/create", body),
    follow,
    list: (/** @type {{status?: string, after?: string, limit?: number}} */ o) =>
      call("GET", `/v1/video/list${q(o)}`),
    cancel: (/** @type {string} */ id) => call("POST", `/v1/video/cancel?id=${enc(id)}`),
    remix: (/** @type {string} */ id, /** @type {string} */ prompt) =>
      call("POST", "/v1/video/remix", { id, prompt }),
    gallery: (/** @type {{after?: string, limit?: number}} */ o) => call("GET", `/v1/gallery${q(o)}`),
    admin: {
      keys: () => call("GET", "/admin/keys"),
      createKey: (/** @type {object} */ body) => call("POST", "/admin/keys", body),
      revokeKey: (/** @type {string} */ id) => call("DELETE", `/admin/keys/${enc(id)}`),
      account: (/** @type {string} */ owner) => call("GET", `/admin/accounts/${enc(owner)}`),
      topUp: (/** @type {string} */ owner, /** @type {number} */ amount) =>
        call("POST", `/admin/accounts/${enc(owner)}/credits`, { amount }),
      statsNow: () => call("GET", "/admin/stats/now"),
      statsOverTime: (/** @type {string} */ range) => call("GET", `/admin/stats/over-time${q({ range })}`),
      statsTasks: (/** @type {Record<string, string | number | undefined>} */ o) =>
        call("GET", `/admin/stats/tasks${q(o)}`),
      task: (/** @type {string} */ id) => call("GET", `/admin/tasks/${enc(id)}`),
      ledger: (/** @type {string} */ id) => call("GET", `/admin/tasks/${enc(id)}/ledger`),
    },
  };
}
