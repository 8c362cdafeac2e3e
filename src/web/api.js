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
    query: (/** @type {string} */ id) => call("GET", `/v1/video/query?id=${enc(id)}`),
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
    },
  };
}
