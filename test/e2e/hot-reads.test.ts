/**
 * The task polls answered beside the router (src/http/hot_reads.ts): over real HTTP they are
 * served there, and every answer (tasks in each state, every error) is the one the router gives
 * for the same request (`inject` always goes through Fastify's router); requests of any other
 * shape are left to the router untouched.
 */
import { afterEach, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider, SEED_BODY } from "../helpers/fake-provider.js";

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function start(env: Record<string, string> = {}) {
  // First task completes, second fails for good, third hangs in `processing`.
  const provider = new FakeProvider(["ok", { error: errors.renderFailed("the renderer crashed") }, "hang"]);
  const app = await startTestApp({ overrides: { provider }, env: { REELAY_MAX_ATTEMPTS: "1", ...env } });
  apps.push(app);
  return app;
}

async function create(app: TestApp, key: string): Promise<string> {
  const res = await app.request("/v1/video/create", { key, body: SEED_BODY });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

interface Answer {
  status: number;
  type: string | undefined;
  retryAfter: string | undefined;
  requestId: string | undefined;
  body: unknown;
}

/**
 * Links are signed from the second they are made, and expire a fixed time after it: two answers
 * made a second boundary apart differ there, so they are compared without signature and expiry.
 */
const unsigned = (text: string) =>
  JSON.parse(
    text
      .replace(/\?exp=\d+&sig=[A-Za-z0-9_-]+/g, "?signed")
      .replace(/"urls_expire_at":\d+/g, '"urls_expire_at":"signed"'),
  );

async function overHttp(app: TestApp, path: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${app.url}${path}`, { headers });
  return {
    status: res.status,
    type: res.headers.get("content-type") ?? undefined,
    retryAfter: res.headers.get("retry-after") ?? undefined,
    requestId: res.headers.get("x-request-id") ?? undefined,
    body: unsigned(await res.text()),
  };
}

async function throughRouter(app: TestApp, path: string, headers: Record<string, string>): Promise<Answer> {
  const res = await app.fastify.inject({ method: "GET", url: path, headers });
  const header = (name: string) => {
    const v = res.headers[name];
    return v === undefined ? undefined : String(v);
  };
  return {
    status: res.statusCode,
    type: header("content-type"),
    retryAfter: header("retry-after"),
    requestId: header("x-request-id"),
    body: unsigned(res.body),
  };
}

const paths = (id: string) => [
  `/v1/video/query?id=${encodeURIComponent(id)}`,
  `/v1/video/query?id=${id}`,
  `/v1/videos/${encodeURIComponent(id)}`,
];

describe("task polls beside the router", () => {
  it("answer every task state and every error as the router does, and are served beside it", async () => {
    const app = await start();
    const key = await app.newKey("owner-a");
    const other = await app.newKey("owner-b");
    const done = await create(app, key);
    expect((await waitForTask(app, key, done)).status).toBe("completed");
    const failed = await create(app, key);
    expect((await waitForTask(app, key, failed)).status).toBe("failed");
    const running = await create(app, key);
    await waitForTask(app, key, running, { statuses: ["processing"] });

    const unknown = "sora-2:task_01k9009g8ef1esae6388chgcpx";
    const cases: [string, Record<string, string>, number][] = [];
    for (const id of [done, failed, running]) {
      for (const p of paths(id)) {
        cases.push([p, { authorization: `Bearer ${key}` }, 200]);
        cases.push([p, { authorization: `Bearer ${other}` }, 404]); // another owner's task
      }
    }
    for (const p of paths(unknown)) cases.push([p, { authorization: `Bearer ${key}` }, 404]);
    cases.push([paths(done)[0] as string, {}, 401]);
    cases.push([paths(done)[0] as string, { authorization: "Bearer sk-not-a-key" }, 401]);
    cases.push([paths(done)[2] as string, { authorization: "Basic abc" }, 401]);

    for (const [path, headers, status] of cases) {
      const before = app.fastify.reelayHotReads();
      const hot = await overHttp(app, path, { ...headers, "x-request-id": "poll-1" });
      expect(app.fastify.reelayHotReads(), `${path} served beside the router`).toBe(before + 1);
      const routed = await throughRouter(app, path, { ...headers, "x-request-id": "poll-1" });
      expect(hot.status, path).toBe(status);
      expect(hot, `${path} ${JSON.stringify(headers)}`).toEqual(routed);
    }
    // A request id of the caller's is kept; one is made for a caller without one.
    const made = await overHttp(app, paths(done)[0] as string, { authorization: `Bearer ${key}` });
    expect(made.requestId).toMatch(/^[0-9a-f-]{36}$/);

    // The links of the completed task's answer work.
    const res = await fetch(`${app.url}${paths(done)[0]}`, { headers: { authorization: `Bearer ${key}` } });
    const task = (await res.json()) as { video_url: string };
    expect((await fetch(task.video_url)).status).toBe(200);

    // Served beside the router, counted in the same metrics as the router's answers.
    const metrics = await (
      await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${app.adminToken}` } })
    ).text();
    expect(metrics).toMatch(
      /reelay_http_request_duration_seconds_count\{method="GET",route="\/v1\/video\/query",status="200"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /reelay_http_request_duration_seconds_count\{method="GET",route="\/v1\/videos\/:id",status="404"\} [1-9]/,
    );
  });

  it("a rate-limited key is refused with the router's 429 and Retry-After", async () => {
    const app = await start({ REELAY_RATE_LIMIT_PER_MIN: "2", REELAY_RATE_LIMIT_BURST: "2" });
    const key = await app.newKey();
    const id = "sora-2:task_01k9009g8ef1esae6388chgcpx";
    const path = paths(id)[0] as string;
    const auth = { authorization: `Bearer ${key}` };
    const statuses: number[] = [];
    let last: Answer | undefined;
    for (let i = 0; i < 3; i++) {
      last = await overHttp(app, path, auth);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([404, 404, 429]);
    expect(last?.retryAfter).toMatch(/^\d+$/);
    expect(last?.body).toMatchObject({ error: { code: "rate_limited" } });
    expect(await throughRouter(app, path, auth)).toMatchObject({ status: 429, body: last?.body });
  });

  it("leaves every other request to the router", async () => {
    const app = await start();
    const key = await app.newKey();
    const id = await create(app, key);
    const auth = { authorization: `Bearer ${key}` };
    const before = app.fastify.reelayHotReads();
    const others: [string, RequestInit, number][] = [
      [`/v1/video/query?id=${id}&verbose=1`, { headers: auth }, 400], // another parameter, named
      [`/v1/video/query?id=${id}&id=${id}`, { headers: auth }, 400],
      [`/v1/video/query?id=not-a-task`, { headers: auth }, 400],
      [`/v1/video/query?id=`, { headers: auth }, 400],
      [`/v1/video/query?ID=${id}`, { headers: auth }, 400],
      [`/v1/videos/${id}/`, { headers: auth }, 404],
      [`/v1/videos/${"x".repeat(300)}`, { headers: auth }, 414],
      [`/v1/videos/${encodeURIComponent(id)}`, { method: "HEAD", headers: auth }, 200],
      [`/v1/videos/${encodeURIComponent(id)}`, { method: "DELETE", headers: auth }, 200],
    ];
    for (const [path, init, status] of others) {
      const res = await fetch(`${app.url}${path}`, init);
      await res.arrayBuffer();
      expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(status);
    }
    expect(app.fastify.reelayHotReads()).toBe(before);
    // A poll while the server closes is left to Fastify, which answers 503 or is gone.
  });
});
