/**
 * The authz table: every route, who may call it, and what everyone else gets. A route added
 * without a row here fails the first test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

type Auth = "public" | "key" | "admin" | "signed";
interface Row {
  method: string;
  url: string;
  auth: Auth;
  /** For routes that act on one task: the request, given a task id. */
  owned?: (id: string) => { path: string; body?: unknown };
  body?: unknown;
  /** A concrete path, where the URL pattern has a wildcard. */
  sample?: string;
}

const enc = encodeURIComponent;
const TABLE: Row[] = [
  { method: "GET", url: "/healthz", auth: "public" },
  { method: "GET", url: "/readyz", auth: "public" },
  { method: "GET", url: "/metrics", auth: "admin" },
  { method: "GET", url: "/openapi.json", auth: "public" },
  { method: "GET", url: "/docs", auth: "public" },
  { method: "GET", url: "/docs/json", auth: "public" },
  { method: "GET", url: "/docs/yaml", auth: "public" },
  { method: "GET", url: "/docs/static/index.html", auth: "public" },
  { method: "GET", url: "/docs/static/swagger-initializer.js", auth: "public" },
  { method: "GET", url: "/docs/static/*", auth: "public", sample: "/docs/static/swagger-ui.css" },
  { method: "GET", url: "/", auth: "public" },
  { method: "GET", url: "/ui/*", auth: "public", sample: "/ui/app.js" },
  { method: "POST", url: "/admin/keys", auth: "admin", body: {} },
  { method: "GET", url: "/admin/keys", auth: "admin" },
  { method: "DELETE", url: "/admin/keys/:id", auth: "admin" },
  { method: "POST", url: "/admin/accounts/:owner_id/credits", auth: "admin", body: { amount: 1 } },
  { method: "GET", url: "/admin/accounts/:owner_id", auth: "admin" },
  { method: "GET", url: "/admin/tasks", auth: "admin" },
  { method: "GET", url: "/admin/channels", auth: "admin" },
  { method: "GET", url: "/admin/accounts/:owner_id/usage", auth: "admin" },
  { method: "GET", url: "/admin/prices", auth: "admin" },
  { method: "GET", url: "/v1/usage", auth: "key" },
  { method: "GET", url: "/v1/me", auth: "key" },
  { method: "POST", url: "/v1/video/create", auth: "key", body: {} },
  {
    method: "GET",
    url: "/v1/video/query",
    auth: "key",
    owned: (id) => ({ path: `/v1/video/query?id=${enc(id)}` }),
  },
  { method: "GET", url: "/v1/video/list", auth: "key" },
  { method: "POST", url: "/v1/videos", auth: "key", body: {} },
  {
    method: "POST",
    url: "/v1/video/remix",
    auth: "key",
    owned: (id) => ({ path: "/v1/video/remix", body: { id, prompt: "again" } }),
  },
  { method: "GET", url: "/v1/gallery", auth: "public" },
  { method: "GET", url: "/v1/videos", auth: "key" },
  { method: "GET", url: "/v1/videos/:id", auth: "key", owned: (id) => ({ path: `/v1/videos/${enc(id)}` }) },
  {
    method: "DELETE",
    url: "/v1/videos/:id",
    auth: "key",
    owned: (id) => ({ path: `/v1/videos/${enc(id)}` }),
  },
  {
    method: "GET",
    url: "/v1/videos/:id/content",
    auth: "key",
    owned: (id) => ({ path: `/v1/videos/${enc(id)}/content` }),
  },
  {
    method: "POST",
    url: "/v1/videos/:id/remix",
    auth: "key",
    owned: (id) => ({ path: `/v1/videos/${enc(id)}/remix`, body: { prompt: "again" } }),
  },
  {
    method: "POST",
    url: "/v1/videos/edits",
    auth: "key",
    owned: (id) => ({ path: "/v1/videos/edits", body: { prompt: "edit", video: { id } } }),
  },
  {
    method: "POST",
    url: "/v1/videos/extensions",
    auth: "key",
    owned: (id) => ({ path: "/v1/videos/extensions", body: { prompt: "more", seconds: "4", video: { id } } }),
  },
  { method: "GET", url: "/v1/models", auth: "key" },
  {
    method: "POST",
    url: "/v1/video/cancel",
    auth: "key",
    owned: (id) => ({ path: `/v1/video/cancel?id=${enc(id)}` }),
  },
  {
    method: "POST",
    url: "/v1/videos/:id/cancel",
    auth: "key",
    owned: (id) => ({ path: `/v1/videos/${enc(id)}/cancel` }),
  },
  {
    method: "POST",
    url: "/sora/v1/characters",
    auth: "key",
    owned: (id) => ({ path: "/sora/v1/characters", body: { from_task: id, timestamps: "0,1" } }),
  },
  { method: "GET", url: "/sora/v1/characters/:id", auth: "key" },
  { method: "POST", url: "/v1/videos/characters", auth: "key", body: {} },
  { method: "GET", url: "/v1/videos/characters/:id", auth: "key" },
  { method: "POST", url: "/v1/chat/completions", auth: "key", body: {} },
  { method: "GET", url: "/files/*", auth: "signed" },
  { method: "POST", url: "/v1/webhooks", auth: "key", body: {} },
  { method: "GET", url: "/v1/webhooks", auth: "key" },
  { method: "DELETE", url: "/v1/webhooks/:id", auth: "key" },
  { method: "POST", url: "/v1/webhooks/:id/enable", auth: "key" },
  { method: "POST", url: "/v1/webhooks/secret", auth: "key" },
  { method: "GET", url: "/admin/webhooks/deliveries", auth: "admin" },
  { method: "POST", url: "/admin/webhooks/deliveries/:id/retry", auth: "admin" },
];

/** A concrete path for a row's URL pattern. */
const pathOf = (r: Row) =>
  r.sample ??
  r.url
    .replace(":id", enc("sora-2:task_01k9009g8ef1esae6388chgcpx"))
    .replace(":owner_id", "owner_x")
    .replace("*", "tasks/x/video.mp4");

let app: TestApp;
let keyA: string;
let keyB: string;
let revokedKey: string;
let taskOfA: string;
let privateOfA: string;

beforeAll(async () => {
  app = await startTestApp({ overrides: { provider: new FakeProvider() } });
  keyA = await app.newKey();
  keyB = await app.newKey();
  const res = await app.request("/v1/videos", { key: keyA, body: { prompt: "owned by A" } });
  taskOfA = ((await res.json()) as { id: string }).id;
  await waitForTask(app, keyA, taskOfA);
  // A private video of A (unified API, `private: true`): finished, so only privacy keeps B out.
  const priv = await app.request("/v1/video/create", {
    key: keyA,
    body: {
      model: "sora-2",
      prompt: "private to A",
      orientation: "portrait",
      size: "small",
      duration: 10,
      private: true,
    },
  });
  privateOfA = ((await priv.json()) as { id: string }).id;
  await waitForTask(app, keyA, privateOfA);
  // A key that worked, then was revoked.
  const made = await app.request("/admin/keys", { key: app.adminToken, body: { name: "to revoke" } });
  const { key: k, id } = (await made.json()) as { key: string; id: string };
  expect((await app.request("/v1/video/list", { key: k })).status).toBe(200);
  expect((await app.request(`/admin/keys/${id}`, { key: app.adminToken, method: "DELETE" })).status).toBe(
    200,
  );
  revokedKey = k;
});
afterAll(() => app.close());

async function call(method: string, path: string, key: string | null, body?: unknown) {
  const res = await app.request(path, { method, key, ...(body === undefined ? {} : { body }) });
  const type = res.headers.get("content-type");
  const json = type?.startsWith("application/json")
    ? ((await res.json()) as { error?: { code: string } })
    : {};
  if (!type?.startsWith("application/json")) await res.arrayBuffer();
  return { status: res.status, type, json };
}

describe("authz table", () => {
  it("covers every registered route, and nothing else", async () => {
    const fresh = buildApp(app.container.services, {});
    await fresh.ready();
    const registered = fresh.reelayRoutes.map((r) => `${r.method} ${r.url}`).sort();
    await fresh.close();
    expect(TABLE.map((r) => `${r.method} ${r.url}`).sort()).toEqual(registered);
  });

  const keyRoutes = TABLE.filter((r) => r.auth === "key");
  it.each(keyRoutes.map((r) => [`${r.method} ${r.url}`, r] as const))(
    "%s: no key, an unknown key, the admin token → 401",
    async (_n, r) => {
      for (const k of [null, "rl-unknown", app.adminToken]) {
        const { status, type, json } = await call(r.method, pathOf(r), k, r.body);
        expect(status).toBe(401);
        expect(type).toMatch(/^application\/json/);
        expect(json.error?.code).toBe(k === null ? "missing_api_key" : "invalid_api_key");
      }
    },
  );

  it.each(keyRoutes.map((r) => [`${r.method} ${r.url}`, r] as const))(
    "%s: a revoked key → 401 saying so",
    async (_n, r) => {
      const { status, json } = await call(r.method, pathOf(r), revokedKey, r.body);
      expect(status).toBe(401);
      expect(json.error?.code).toBe("invalid_api_key");
      expect((json.error as { message?: string } | undefined)?.message).toContain("revoked");
    },
  );

  it.each(TABLE.filter((r) => r.auth === "admin").map((r) => [`${r.method} ${r.url}`, r] as const))(
    "%s: no token → 401, a revoked key → 401, a user key → 403",
    async (_n, r) => {
      expect((await call(r.method, pathOf(r), null, r.body)).status).toBe(401);
      const revoked = await call(r.method, pathOf(r), revokedKey, r.body);
      expect(revoked.status).toBe(401);
      expect(revoked.json.error?.code).toBe("invalid_api_key");
      const asUser = await call(r.method, pathOf(r), keyA, r.body);
      expect(asUser.status).toBe(403);
      expect(asUser.json.error?.code).toBe("admin_only");
    },
  );

  const owned = keyRoutes.filter((r) => r.owned);
  it.each(owned.map((r) => [`${r.method} ${r.url}`, r] as const))(
    "%s: another owner's task, or private video, is 404; the owner's is not",
    async (_n, r) => {
      const ask = (id: string) => {
        const req = r.owned?.(id);
        if (!req) throw new Error("row without owned()");
        return req;
      };
      for (const id of [taskOfA, privateOfA]) {
        const other = await call(r.method, ask(id).path, keyB, ask(id).body);
        expect(other.status).toBe(404);
        expect(other.json.error?.code).toBe("task_not_found");
      }
      const req = ask(taskOfA);
      if (r.method !== "DELETE") {
        const mine = await call(r.method, req.path, keyA, req.body);
        expect(mine.status).not.toBe(404);
        expect(mine.status).toBeLessThan(500);
      }
    },
  );

  it("a private video is in no public listing; a public one of the same owner is", async () => {
    const pub = await app.request("/v1/video/create", {
      key: keyA,
      body: {
        model: "sora-2",
        prompt: "public from A",
        orientation: "portrait",
        size: "small",
        duration: 10,
      },
    });
    const publicOfA = ((await pub.json()) as { id: string }).id;
    await waitForTask(app, keyA, publicOfA);
    const gallery = await app.request("/v1/gallery?limit=100", { key: null });
    expect(gallery.status).toBe(200);
    const ids = ((await gallery.json()) as { data: { id: string }[] }).data.map((v) => v.id);
    expect(ids).toContain(publicOfA);
    expect(ids).not.toContain(privateOfA);
  });

  it("public routes answer without a key", async () => {
    for (const r of TABLE.filter((x) => x.auth === "public"))
      expect((await call(r.method, pathOf(r), null)).status).toBe(200);
  });

  it("signed links refuse a request without a valid signature, whatever key it carries", async () => {
    for (const r of TABLE.filter((x) => x.auth === "signed")) {
      for (const k of [null, keyA, app.adminToken]) {
        const res = await call(r.method, pathOf(r), k);
        expect(res.status).toBe(403);
        expect(res.json.error?.code).toBe("link_invalid");
      }
    }
  });
});
