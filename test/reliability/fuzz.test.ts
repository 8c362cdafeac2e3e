/**
 * Property-based fuzzing of every route with fast-check: arbitrary JSON bodies, query strings,
 * headers and multipart parts. Whatever arrives, Reelay answers with a status below 500, a 4xx
 * carries the JSON error envelope with a message, and the process keeps serving.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { routeKey } from "../../src/http/route.js";
import { ROUTES as DECLARED } from "../../src/http/routes.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { VOCAB_MODELS } from "../helpers/vocab-models.js";

let app: TestApp;
let key: string;
let taskId: string;
let configDir: string;

beforeAll(async () => {
  // Models that take the additions (vocab-full, vocab-veo), so fuzzed additions get past "not taken".
  configDir = await mkdtemp(join(tmpdir(), "reelay-fuzz-"));
  await writeFile(join(configDir, "reelay.json"), JSON.stringify({ models: VOCAB_MODELS }));
  app = await startTestApp({
    env: { REELAY_CONFIG_FILE: join(configDir, "reelay.json") },
    // Webhook URLs are resolved when registered: no fuzzed host name may reach real DNS.
    overrides: { provider: new FakeProvider(), resolve: async (host) => Promise.reject(notFound(host)) },
    engine: { concurrency: 1 },
  });
  key = await app.newKey();
  const res = await app.request("/v1/videos", { key, body: { prompt: "fuzz target" } });
  taskId = ((await res.json()) as { id: string }).id;
  await waitForTask(app, key, taskId);
});
afterAll(async () => {
  await app.close();
  await rm(configDir, { recursive: true, force: true });
});

const task = () => encodeURIComponent(taskId);
/**
 * The concrete path each declared route is fuzzed at, keyed by its declaration; every declared
 * route needs one. DELETE /v1/videos/:id aims at a task that does not exist: the others need theirs.
 */
const PATHS: Record<string, () => string> = {
  "GET /healthz": () => "/healthz",
  "GET /readyz": () => "/readyz",
  "POST /admin/keys": () => "/admin/keys",
  "GET /admin/keys": () => "/admin/keys",
  "DELETE /admin/keys/:id": () => "/admin/keys/key_nope",
  "POST /admin/accounts/:owner_id/credits": () => "/admin/accounts/owner_x/credits",
  "GET /admin/accounts/:owner_id": () => "/admin/accounts/owner_x",
  "GET /admin/tasks": () => "/admin/tasks",
  "GET /admin/tasks/:id": () => `/admin/tasks/${task()}`,
  "GET /admin/tasks/:id/ledger": () => `/admin/tasks/${task()}/ledger`,
  "GET /admin/stats/now": () => "/admin/stats/now",
  "GET /admin/stats/over-time": () => "/admin/stats/over-time",
  "GET /admin/stats/tasks": () => "/admin/stats/tasks",
  "GET /admin/channels": () => "/admin/channels",
  "GET /admin/accounts/:owner_id/usage": () => "/admin/accounts/owner_x/usage",
  "GET /admin/prices": () => "/admin/prices",
  "GET /v1/usage": () => "/v1/usage",
  "GET /v1/me": () => "/v1/me",
  "POST /v1/video/create": () => "/v1/video/create",
  "POST /v1/video/quote": () => "/v1/video/quote",
  "GET /v1/video/ledger": () => `/v1/video/ledger?id=${task()}`,
  "POST /v1/video/storyboards": () => "/v1/video/storyboards",
  "GET /v1/video/query": () => "/v1/video/query",
  "GET /v1/video/list": () => "/v1/video/list",
  "GET /": () => "/",
  "GET /ui/*": () => "/ui/app.js",
  "POST /v1/videos": () => "/v1/videos",
  "GET /v1/videos": () => "/v1/videos",
  "GET /v1/videos/:id": () => `/v1/videos/${task()}`,
  // The task has ended: its streams send the feed and end, whatever is asked.
  "GET /v1/videos/:id/events": () => `/v1/videos/${task()}/events`,
  "GET /v1/video/events": () => `/v1/video/events?id=${task()}`,
  "DELETE /v1/videos/:id": () => `/v1/videos/${encodeURIComponent(taskIdPlaceholder())}`,
  "GET /v1/videos/:id/content": () => `/v1/videos/${task()}/content`,
  "POST /v1/videos/:id/remix": () => `/v1/videos/${task()}/remix`,
  "POST /v1/videos/edits": () => "/v1/videos/edits",
  "POST /v1/videos/extensions": () => "/v1/videos/extensions",
  "GET /v1/models": () => "/v1/models",
  "POST /v1/chat/completions": () => "/v1/chat/completions",
  "GET /files/*": () => "/files/tasks/x/video.mp4",
  "GET /metrics": () => "/metrics",
  "POST /v1/video/remix": () => "/v1/video/remix",
  "GET /v1/gallery": () => "/v1/gallery",
  "POST /v1/video/cancel": () => "/v1/video/cancel",
  "POST /v1/videos/:id/cancel": () => `/v1/videos/${task()}/cancel`,
  "POST /sora/v1/characters": () => "/sora/v1/characters",
  "GET /sora/v1/characters/:id": () => "/sora/v1/characters/char_x",
  "POST /v1/videos/characters": () => "/v1/videos/characters",
  "GET /v1/videos/characters/:id": () => "/v1/videos/characters/char_x",
  "GET /openapi.json": () => "/openapi.json",
  "POST /v1/webhooks": () => "/v1/webhooks",
  "POST /v1/callbacks/:channel/:task": () => `/v1/callbacks/up/${task()}?token=x`,
  "GET /v1/webhooks": () => "/v1/webhooks",
  "DELETE /v1/webhooks/:id": () => "/v1/webhooks/whe_nope",
  "POST /v1/webhooks/:id/enable": () => "/v1/webhooks/whe_nope/enable",
  "POST /v1/webhooks/secret": () => "/v1/webhooks/secret",
  "GET /admin/webhooks/deliveries": () => "/admin/webhooks/deliveries",
  "POST /admin/webhooks/deliveries/:id/retry": () => "/admin/webhooks/deliveries/whd_nope/retry",
};

/** Every declared route, at its path; a route declared without one fails here at once. */
const ROUTES = DECLARED.map((r) => {
  const path = PATHS[routeKey(r)];
  if (!path) throw new Error(`fuzz table: no path for ${routeKey(r)}: add it to PATHS`);
  return { method: r.method, url: r.url, path };
});

/** Field names the routes know, mixed with noise, so bodies get past the first check sometimes. */
const fieldName = fc.oneof(
  fc.constantFrom(
    "prompt",
    "model",
    "seconds",
    "size",
    "input_reference",
    "images",
    "orientation",
    "duration",
    "watermark",
    "private",
    "messages",
    "stream",
    "video",
    "id",
    "name",
    "owner_id",
    "after",
    "limit",
    "order",
    "variant",
    "url",
    "events",
    "callback_url",
    "dry_run",
    "aspect_ratio",
    "resolution",
    "last_frame",
    "reference_images",
    "negative_prompt",
    "seed",
    "audio",
    "shots",
    "crossfade_s",
    "dry_run",
    "task_id",
    "status",
    "range",
    "from",
    "to",
    "cursor",
    "class",
    "channel",
    "owner",
    "__proto__",
    "constructor",
  ),
  fc.string({ maxLength: 12 }),
);
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom("sora-2", "sora-2-pro", "720x1280", "4", "portrait", "large", 15),
);
const body = fc.oneof(
  fc.dictionary(fieldName, value, { maxKeys: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ maxLength: 200 }),
);
const query = fc.dictionary(
  fieldName,
  fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom(taskIdPlaceholder(), "10", "-1", "asc")),
  {
    maxKeys: 4,
  },
);
function notFound(host: string): Error {
  return Object.assign(new Error(`no such host ${host}`), { code: "ENOTFOUND" });
}
function taskIdPlaceholder() {
  return "sora-2:task_01k9009g8ef1esae6388chgcpx";
}
const contentType = fc.constantFrom(
  "application/json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "application/json; charset=latin1",
  "multipart/form-data; boundary=nope",
  "",
);

async function check(res: Response): Promise<void> {
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    const j = (await res.json()) as { error?: { message?: unknown; code?: unknown } };
    expect(typeof j.error?.message).toBe("string");
    expect(String(j.error?.message).length).toBeGreaterThan(0);
    expect(typeof j.error?.code).toBe("string");
  } else {
    await res.arrayBuffer();
  }
}

describe("fuzzing every route never yields a 5xx", () => {
  it("has a path for every declared route, and for nothing else", () => {
    expect(Object.keys(PATHS).sort()).toEqual(DECLARED.map(routeKey).sort());
  });

  it.each(ROUTES.map((r) => [routeKey(r), r] as const))(
    "%s: JSON-ish bodies, queries, content types",
    async (_n, r) => {
      await fc.assert(
        fc.asyncProperty(body, query, contentType, fc.boolean(), async (b, q, ct, withKey) => {
          const qs = new URLSearchParams(
            Object.entries(q).map(([k, v]): [string, string] => [k, String(v)]),
          ).toString();
          const url = `${app.url}${r.path()}${qs ? `${r.path().includes("?") ? "&" : "?"}${qs}` : ""}`;
          const headers: Record<string, string> = {};
          if (withKey)
            headers.authorization = `Bearer ${r.path().startsWith("/admin/") ? app.adminToken : key}`;
          if (ct) headers["content-type"] = ct;
          const init: RequestInit = { method: r.method, headers };
          if (r.method !== "GET") init.body = typeof b === "string" ? b : JSON.stringify(b);
          await check(await fetch(url, init));
        }),
        { numRuns: 40 },
      );
    },
  );

  it.each(["/v1/videos", "/v1/videos/edits", "/v1/videos/extensions", "/v1/videos/characters"])(
    "%s: arbitrary multipart parts",
    async (path) => {
      const part = fc.record({
        name: fc.oneof(
          fieldName,
          fc.constantFrom(
            "input_reference[image_url]",
            "video[id]",
            "a[b][c]",
            "x[",
            "[]",
            "input_reference[__proto__]",
            "reference_images",
            "reference_images[]",
            "last_frame",
            "seed",
            "audio",
            "aspect_ratio",
          ),
        ),
        file: fc.boolean(),
        text: fc.string({ maxLength: 60 }),
        type: fc.constantFrom("image/png", "video/mp4", "text/plain", "application/octet-stream"),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(part, { maxLength: 6 }), async (parts) => {
          const form = new FormData();
          for (const p of parts) {
            if (p.file) form.append(p.name, new Blob([p.text], { type: p.type }), "f.bin");
            else form.append(p.name, p.text);
          }
          await check(
            await fetch(`${app.url}${path}`, {
              method: "POST",
              headers: { authorization: `Bearer ${key}` },
              body: form,
            }),
          );
        }),
        { numRuns: 40 },
      );
    },
  );

  it("storyboards: shots of any shape never yield a 5xx (dry runs: nothing is made)", async () => {
    const anything = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom("sora-2", "cut", "crossfade", "keep", "silent", 10, 15, -1, 0, 1.5, 2 ** 40, "", null),
    );
    const shot = fc.oneof(
      fc.record(
        {
          prompt: fc.oneof(fc.string({ maxLength: 40 }), anything),
          duration: fc.oneof(fc.constantFrom(10, 15), anything),
          model: fc.oneof(fc.constantFrom("sora-2", "vocab-veo"), anything),
          images: fc.oneof(
            fc.array(fc.constantFrom("data:image/png;base64,AAAA", "ftp://x/a.png"), { maxLength: 3 }),
            anything,
          ),
          caption: fc.oneof(fc.string({ maxLength: 600 }), anything),
          transition: anything,
        },
        { requiredKeys: [] },
      ),
      anything,
    );
    const storyboard = fc.record(
      {
        shots: fc.oneof(fc.array(shot, { maxLength: 12 }), anything),
        model: fc.oneof(fc.constant("sora-2"), anything),
        orientation: fc.constantFrom("portrait", "landscape", undefined, 3),
        size: fc.constantFrom("small", "large", undefined),
        audio: anything,
        crossfade_s: anything,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(storyboard, async (b) => {
        await check(await app.request("/v1/video/storyboards", { key, body: { ...b, dry_run: true } }));
      }),
      { numRuns: 150 },
    );
  });

  it("the additions with bad values, on both create APIs and on models with and without accepts", async () => {
    const bad = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom("16:9", "0:0", "99:1", "1080p", "0p", "9999p", -1, 2 ** 32, 1.5, "yes", "", null),
      fc.constantFrom("data:image/png;base64,AAAA", "ftp://x/a.png", "http://127.0.0.1/a.png"),
      fc.array(fc.oneof(fc.string({ maxLength: 20 }), fc.constant("data:image/png;base64,")), {
        maxLength: 20,
      }),
    );
    const additions = fc.record(
      {
        aspect_ratio: bad,
        resolution: bad,
        last_frame: bad,
        reference_images: bad,
        negative_prompt: fc.oneof(bad, fc.string({ maxLength: 3000 })),
        seed: bad,
        audio: bad,
        orientation: fc.constantFrom("portrait", "landscape", undefined),
        size: fc.constantFrom("small", "large", "1280x720", "720x1280", undefined),
      },
      { requiredKeys: [] },
    );
    const model = fc.constantFrom("sora-2", "vocab-full", "vocab-veo");
    await fc.assert(
      fc.asyncProperty(model, additions, fc.boolean(), async (m, add, unified) => {
        const body = unified
          ? { model: m, prompt: "fuzz", duration: m === "vocab-veo" ? 4 : m === "sora-2" ? 10 : 1, ...add }
          : {
              model: m,
              prompt: "fuzz",
              seconds: m === "vocab-veo" ? "4" : m === "sora-2" ? "4" : "1",
              ...add,
            };
        if (!unified && "orientation" in body) delete (body as { orientation?: unknown }).orientation;
        await check(await app.request(unified ? "/v1/video/create" : "/v1/videos", { key, body }));
      }),
      { numRuns: 150 },
    );
  });

  it("arbitrary header values on an authenticated route", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 80 }), fc.string({ maxLength: 40 }), async (auth, range) => {
        const headers: Record<string, string> = {};
        // fetch refuses some header values itself; those never reach the server.
        try {
          new Headers({ authorization: auth, range });
        } catch {
          return;
        }
        headers.authorization = auth;
        headers.range = range;
        await check(await fetch(`${app.url}/v1/videos/${encodeURIComponent(taskId)}/content`, { headers }));
      }),
      { numRuns: 60 },
    );
  });

  it("still serves after all of it", async () => {
    expect((await fetch(`${app.url}/healthz`)).status).toBe(200);
    expect((await app.request(`/v1/videos/${encodeURIComponent(taskId)}`, { key })).status).toBe(200);
  });
});

/** Hostile inputs found by probing, each answered in the envelope with the right status and field. */
describe("hostile inputs", () => {
  const envelopeOf = async (res: Response) => {
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    return ((await res.json()) as { error: { code: string; param: string | null; message: string } }).error;
  };

  it.each(["/v1/videos", "/v1/videos/edits", "/v1/videos/extensions", "/v1/videos/characters"])(
    "%s: multipart/form-data without a boundary → 400",
    async (path) => {
      const res = await fetch(`${app.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "multipart/form-data" },
        body: "--x\r\ncontent-disposition: form-data; name=prompt\r\n\r\nhi\r\n--x--\r\n",
      });
      expect(res.status).toBe(400);
      expect((await envelopeOf(res)).message).toMatch(/boundary/);
    },
  );

  it("a multipart field over its limit (a 1.2 MB data URL) → 413 naming the field, no task", async () => {
    const form = new FormData();
    form.append("prompt", "too long a field");
    form.append("input_reference[image_url]", `data:image/png;base64,${"A".repeat(1_200_000)}`);
    const before = await (await app.request("/v1/videos", { key })).json();
    const res = await fetch(`${app.url}/v1/videos`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(res.status).toBe(413);
    const e = await envelopeOf(res);
    expect(e).toMatchObject({ code: "payload_too_large", param: "input_reference[image_url]" });
    expect(e.message).toContain("65536 bytes");
    expect(await (await app.request("/v1/videos", { key })).json()).toEqual(before);
  });

  it("a body over the limit → 413 saying the real limit", async () => {
    const res = await app.request("/v1/video/remix", { key, body: { id: "x", prompt: "a".repeat(2 << 20) } });
    expect(res.status).toBe(413);
    expect((await envelopeOf(res)).message).toContain("larger than 1048576 bytes");
  });

  it.each([
    ["a lone surrogate", '"\\ud800 a fox"'],
    ["a NUL-only prompt", '"\\u0000"'],
    ["a NUL inside", '"a \\u0000 fox"'],
  ])("%s in a prompt → 400 naming prompt, on both APIs", async (_n, prompt) => {
    const unified = `{"model":"sora-2","prompt":${prompt},"orientation":"portrait","size":"small","duration":10}`;
    for (const [path, body] of [
      ["/v1/video/create", unified],
      ["/v1/videos", `{"prompt":${prompt}}`],
      [`/v1/videos/${encodeURIComponent(taskId)}/remix`, `{"prompt":${prompt}}`],
    ] as const) {
      const res = await app.request(path, { key, body });
      expect(res.status, path).toBe(400);
      expect((await envelopeOf(res)).param).toBe("prompt");
    }
  });

  it("seconds: null → 400 naming the allowed values", async () => {
    const res = await app.request("/v1/videos", { key, body: { prompt: "x", seconds: null } });
    expect(res.status).toBe(400);
    const e = await envelopeOf(res);
    expect(e.param).toBe("seconds");
    expect(e.message).toContain('allowed: "4", "8", "12"');
  });

  it("bad UTF-8 in the URL → 400, an over-long id → 414, an over-long URL → 431, all in the envelope", async () => {
    const bad = await fetch(`${app.url}/v1/videos/%ff`, { headers: { authorization: `Bearer ${key}` } });
    expect(bad.status).toBe(400);
    expect((await envelopeOf(bad)).code).toBe("invalid_request");
    const long = await fetch(`${app.url}/v1/videos/${"a".repeat(300)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(long.status).toBe(414);
    expect((await envelopeOf(long)).code).toBe("uri_too_long");
    // Past Node's 16 KiB header limit the parser refuses it before any route: still the envelope.
    const huge = await fetch(`${app.url}/v1/videos?after=${"a".repeat(20_000)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(huge.status).toBe(431);
    expect((await envelopeOf(huge)).code).toBe("headers_too_large");
  });

  it("Range: bytes=100-50 is invalid, so ignored: 200 with the whole file", async () => {
    const url = `${app.url}/v1/videos/${encodeURIComponent(taskId)}/content`;
    const whole = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    const size = (await whole.arrayBuffer()).byteLength;
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, range: "bytes=100-50" } });
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBe(size);
  });
});
