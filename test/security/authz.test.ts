/**
 * The authz table: every route, who may call it, and what everyone else gets. The routes and who
 * may call them come from their declarations (src/http/routes.ts); a route declared without test
 * data here fails at once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { routeKey } from "../../src/http/route.js";
import { DOCS_UI_ROUTES } from "../../src/http/routes/docs.js";
import { ROUTES } from "../../src/http/routes.js";
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
  /**
   * What a public route answers without a key when not 200: provider callbacks, whose credential
   * is the token in their URL (checked per channel in test/e2e/provider-callbacks.test.ts), answer
   * 404 here, where no channel takes callbacks.
   */
  publicStatus?: number;
}
/** What this test needs of a route besides its declaration. */
type TestData = Omit<Row, "method" | "url" | "auth">;

const enc = encodeURIComponent;
/** Per-route test data, keyed by the route's declaration; every declared route needs an entry. */
const DATA: Record<string, TestData> = {
  "GET /healthz": {},
  "GET /readyz": {},
  "GET /metrics": {},
  "GET /openapi.json": {},
  "GET /": {},
  "GET /ui/*": { sample: "/ui/app.js" },
  "POST /admin/keys": { body: {} },
  "GET /admin/keys": {},
  "DELETE /admin/keys/:id": {},
  "POST /admin/accounts/:owner_id/credits": { body: { amount: 1 } },
  "GET /admin/accounts/:owner_id": {},
  "GET /admin/tasks": {},
  "GET /admin/tasks/:id": {},
  "GET /admin/tasks/:id/ledger": {},
  "GET /admin/stats/now": {},
  "GET /admin/stats/over-time": { sample: "/admin/stats/over-time?range=hour" },
  "GET /admin/stats/tasks": { sample: "/admin/stats/tasks?from=0&to=1" },
  "GET /admin/channels": {},
  "GET /admin/accounts/:owner_id/usage": {},
  "GET /admin/prices": {},
  "GET /v1/usage": {},
  "GET /v1/me": {},
  "POST /v1/video/create": { body: {} },
  "POST /v1/video/quote": { body: {} },
  "GET /v1/video/ledger": { owned: (id) => ({ path: `/v1/video/ledger?id=${enc(id)}` }) },
  "POST /v1/video/storyboards": { body: {} },
  "GET /v1/video/query": { owned: (id) => ({ path: `/v1/video/query?id=${enc(id)}` }) },
  "GET /v1/video/events": { owned: (id) => ({ path: `/v1/video/events?id=${enc(id)}` }) },
  "GET /v1/videos/:id/events": { owned: (id) => ({ path: `/v1/videos/${enc(id)}/events` }) },
  "GET /v1/video/list": {},
  "POST /v1/videos": { body: {} },
  "POST /v1/video/remix": { owned: (id) => ({ path: "/v1/video/remix", body: { id, prompt: "again" } }) },
  "GET /v1/gallery": {},
  "GET /v1/videos": {},
  "GET /v1/videos/:id": { owned: (id) => ({ path: `/v1/videos/${enc(id)}` }) },
  "DELETE /v1/videos/:id": { owned: (id) => ({ path: `/v1/videos/${enc(id)}` }) },
  "GET /v1/videos/:id/content": { owned: (id) => ({ path: `/v1/videos/${enc(id)}/content` }) },
  "POST /v1/videos/:id/remix": {
    owned: (id) => ({ path: `/v1/videos/${enc(id)}/remix`, body: { prompt: "again" } }),
  },
  "POST /v1/videos/edits": {
    owned: (id) => ({ path: "/v1/videos/edits", body: { prompt: "edit", video: { id } } }),
  },
  "POST /v1/videos/extensions": {
    owned: (id) => ({ path: "/v1/videos/extensions", body: { prompt: "more", seconds: "4", video: { id } } }),
  },
  "GET /v1/models": {},
  "POST /v1/video/cancel": { owned: (id) => ({ path: `/v1/video/cancel?id=${enc(id)}` }) },
  "POST /v1/videos/:id/cancel": { owned: (id) => ({ path: `/v1/videos/${enc(id)}/cancel` }) },
  "POST /sora/v1/characters": {
    owned: (id) => ({ path: "/sora/v1/characters", body: { from_task: id, timestamps: "0,1" } }),
  },
  "GET /sora/v1/characters/:id": {},
  "POST /v1/videos/characters": { body: {} },
  "GET /v1/videos/characters/:id": {},
  "POST /v1/chat/completions": { body: {} },
  "GET /files/*": {},
  "POST /v1/webhooks": { body: {} },
  "POST /v1/callbacks/:channel/:task": {
    sample: "/v1/callbacks/up/sora-2%3Atask_01k9009g8ef1esae6388chgcpx?token=x",
    body: {},
    publicStatus: 404,
  },
  "GET /v1/webhooks": {},
  "DELETE /v1/webhooks/:id": {},
  "POST /v1/webhooks/:id/enable": {},
  "POST /v1/webhooks/secret": {},
  "GET /admin/webhooks/deliveries": {},
  "POST /admin/webhooks/deliveries/:id/retry": {},
};

/** The table: every declared route with its test data, and the docs UI's routes (public, undeclared). */
const TABLE: Row[] = [
  ...ROUTES.map((r): Row => {
    const data = DATA[routeKey(r)];
    if (!data) throw new Error(`authz table: no test data for ${routeKey(r)}: add it to DATA`);
    return { method: r.method, url: r.url, auth: r.auth === "none" ? "public" : r.auth, ...data };
  }),
  ...DOCS_UI_ROUTES.map((r): Row => ({ ...r, auth: "public" })),
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
    // And no test data for a route that is not declared (a renamed route keeps no stale row).
    expect(Object.keys(DATA).sort()).toEqual(ROUTES.map(routeKey).sort());
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
      expect((await call(r.method, pathOf(r), null, r.body)).status).toBe(r.publicStatus ?? 200);
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
