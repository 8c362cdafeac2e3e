/**
 * Webhooks end to end: endpoints registered over the API, task events delivered from the job queue
 * to a real receiver on 127.0.0.1 that verifies every signature with the `standardwebhooks` library,
 * retries after failures, de-duplication on the event id, per-request `callback_url`, and the admin
 * list of deliveries with their attempts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import type { VideoProvider } from "../../src/core/media/ports.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { waitFor } from "../helpers/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

/** Renders at once; a prompt with "please fail" fails for good, one with "please hang" runs until cancelled. */
const ok = new FakeProvider();
const hang = new FakeProvider([], "hang");
const provider: VideoProvider = {
  name: "fake",
  generate(request, ctx) {
    if (request.prompt.includes("please fail"))
      return Promise.reject(errors.renderFailed("the render broke"));
    return (request.prompt.includes("please hang") ? hang : ok).generate(request, ctx);
  },
};

let app: TestApp;
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  app = await startTestApp({
    env: { REELAY_ALLOW_HOSTS: receiver.host, REELAY_WEBHOOK_RETRY_SCHEDULE: "50ms,50ms,50ms" },
    overrides: { provider },
  });
});
afterAll(async () => {
  await app?.close();
  await receiver?.close();
});

const body = (prompt: string, extra: Record<string, unknown> = {}) => ({
  model: "sora-2",
  orientation: "landscape",
  prompt,
  size: "small",
  duration: 10,
  ...extra,
});

async function create(key: string, prompt: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await app.request("/v1/video/create", { key, body: body(prompt, extra) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

async function register(
  key: string,
  path: string,
  events?: string[],
): Promise<{ id: string; secret: string }> {
  const res = await app.request("/v1/webhooks", {
    key,
    body: { url: `${receiver.url}${path}`, ...(events ? { events } : {}) },
  });
  expect(res.status).toBe(201);
  const ep = (await res.json()) as { id: string; secret: string };
  receiver.secretFor(path, ep.secret);
  return ep;
}

interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  endpoint_id: string | null;
  status: string;
  attempt_count: number;
  attempts: { attempt: number; status_code: number | null; error: string | null }[];
}

async function deliveries(taskId: string): Promise<Delivery[]> {
  const res = await app.request(`/admin/webhooks/deliveries?task_id=${encodeURIComponent(taskId)}`, {
    key: app.adminToken,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: Delivery[] }).data;
}

const settled = (taskId: string, n = 1) =>
  waitFor(
    () => deliveries(taskId),
    (ds) => ds.length === n && ds.every((d) => d.status !== "pending"),
    { what: `${n} settled deliveries of ${taskId}`, intervalMs: 50 },
  );

describe("webhook endpoints", () => {
  it("registers an endpoint, shows its secret once, lists it without, and deletes it", async () => {
    const key = await app.newKey("owner_reg");
    const res = await app.request("/v1/webhooks", {
      key,
      body: { url: `${receiver.url}/reg`, events: ["video.failed"] },
    });
    expect(res.status).toBe(201);
    const ep = (await res.json()) as Record<string, unknown>;
    expect(ep).toMatchObject({
      object: "webhook_endpoint",
      url: `${receiver.url}/reg`,
      events: ["video.failed"],
    });
    expect(String(ep.secret)).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const list = await app.request("/v1/webhooks", { key });
    const listed = (await list.json()) as { data: Record<string, unknown>[] };
    expect(listed.data.map((e) => e.id)).toEqual([ep.id]);
    expect(JSON.stringify(listed)).not.toContain(String(ep.secret));

    // Another owner cannot see or delete it.
    const other = await app.newKey("owner_other");
    expect(((await (await app.request("/v1/webhooks", { key: other })).json()) as { data: [] }).data).toEqual(
      [],
    );
    const foreign = await app.request(`/v1/webhooks/${String(ep.id)}`, { key: other, method: "DELETE" });
    expect(foreign.status).toBe(404);

    const del = await app.request(`/v1/webhooks/${String(ep.id)}`, { key, method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await del.json()).toEqual({ id: ep.id, object: "webhook_endpoint.deleted", deleted: true });
    expect((await app.request(`/v1/webhooks/${String(ep.id)}`, { key, method: "DELETE" })).status).toBe(404);
  });

  it.each([
    [{ url: "not a url" }, "url", /not a valid URL/],
    [{ url: "ftp://example.com/x" }, "url", /only http and https/],
    [{ url: "http://user:pw@example.com/x" }, "url", /credentials/],
    [{ url: "http://10.0.0.5/hook" }, "url", /10\.0\.0\.5, a private/],
    [{ url: "http://169.254.169.254/latest/meta-data" }, "url", /link-local/],
    [{ url: "http://[::1]:9/x" }, "url", /loopback/],
    // Loopback, but not the allow-listed port.
    [{ url: "http://127.0.0.1:9/x" }, "url", /loopback/],
    [{ url: "https://example.com/x", events: ["video.exploded"] }, "events[0]", /must be one of/],
    [{ url: "https://example.com/x", events: [] }, "events", /events/],
    [{}, "url", /required/],
  ])("refuses %j, naming '%s'", async (b, param, message) => {
    const key = await app.newKey("owner_bad");
    const res = await app.request("/v1/webhooks", { key, body: b });
    expect(res.status).toBe(400);
    const e = ((await res.json()) as { error: { param: string; message: string } }).error;
    expect(e.param).toBe(param);
    expect(e.message).toMatch(message);
  });
});

describe("webhook deliveries", () => {
  it("retries after two 500s and delivers the completed event, signed, once", async () => {
    const key = await app.newKey("owner_retry");
    const ep = await register(key, "/retry");
    receiver.script("/retry", [500, 500]);
    const id = await create(key, "a lighthouse");
    const task = await waitForTask(app, key, id);
    expect(task.status).toBe("completed");

    const [d] = await settled(id);
    expect(d).toMatchObject({ endpoint_id: ep.id, event_type: "video.completed", status: "delivered" });
    expect(d?.attempts.map((a) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    const got = receiver.received.filter((r) => r.path === "/retry");
    expect(got.map((r) => [r.verified, r.status])).toEqual([
      [true, 500],
      [true, 500],
      [true, 200],
    ]);
    // Every attempt carries the same event id: the receiver processed the event once.
    expect(new Set(got.map((r) => r.headers["webhook-id"]))).toEqual(new Set([d?.event_id]));
    const event = receiver.processed.get(String(d?.event_id));
    expect(event?.body.type).toBe("video.completed");
    expect(event?.body.data).toMatchObject({ id, status: "completed", progress: 100 });
    expect(String(event?.body.data.video_url)).toContain("/files/");
    expect(got[0]?.headers["user-agent"]).toMatch(/^Reelay-Webhooks\//);
  });

  it("sends failed and cancelled events to the endpoints that asked for them", async () => {
    const key = await app.newKey("owner_ends");
    await register(key, "/ends-all");
    await register(key, "/ends-failed", ["video.failed"]);
    const failed = await create(key, "please fail now");
    expect((await waitForTask(app, key, failed)).status).toBe("failed");
    const hanging = await create(key, "please hang around");
    await waitForTask(app, key, hanging, { statuses: ["processing"], timeoutMs: 30_000, intervalMs: 50 });
    const cancel = await app.request(`/v1/video/cancel?id=${encodeURIComponent(hanging)}`, {
      key,
      method: "POST",
    });
    expect(cancel.status).toBe(200);

    const f = await settled(failed, 2);
    expect(f.map((d) => [d.event_type, d.status])).toEqual([
      ["video.failed", "delivered"],
      ["video.failed", "delivered"],
    ]);
    // One event, two receivers: the same webhook-id at each.
    expect(new Set(f.map((d) => d.event_id)).size).toBe(1);
    const c = await settled(hanging, 1);
    expect(c.map((d) => [d.event_type, d.status])).toEqual([["video.cancelled", "delivered"]]);

    const failedEvent = receiver.processed.get(String(f[0]?.event_id));
    expect(failedEvent?.body.data).toMatchObject({
      id: failed,
      status: "failed",
      error: { code: "render_failed" },
    });
    const cancelledEvent = receiver.processed.get(String(c[0]?.event_id));
    expect(cancelledEvent).toMatchObject({ path: "/ends-all", body: { type: "video.cancelled" } });
    expect(cancelledEvent?.body.data).toMatchObject({ id: hanging, status: "cancelled" });
    expect(receiver.received.filter((r) => r.path.startsWith("/ends")).every((r) => r.verified)).toBe(true);
  });

  it("marks a delivery failed once the retry schedule is spent", async () => {
    const key = await app.newKey("owner_down");
    await register(key, "/down");
    receiver.script("/down", [503], { repeat: true });
    const id = await create(key, "a quiet harbour");
    await waitForTask(app, key, id);
    const [d] = await settled(id);
    expect(d?.status).toBe("failed");
    // The first attempt and the three retries of REELAY_WEBHOOK_RETRY_SCHEDULE.
    expect(d?.attempts.map((a) => a.status_code)).toEqual([503, 503, 503, 503]);
    expect(d?.attempts[3]?.error).toMatch(/HTTP 503/);
    const failedList = await app.request("/admin/webhooks/deliveries?status=failed", { key: app.adminToken });
    expect(((await failedList.json()) as { data: Delivery[] }).data.map((x) => x.id)).toContain(d?.id);

    // The receiver is back: the operator retries the delivery by hand, once.
    receiver.script("/down", []);
    const retry = () =>
      app.request(`/admin/webhooks/deliveries/${String(d?.id)}/retry`, {
        key: app.adminToken,
        method: "POST",
      });
    const res = await retry();
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: d?.id, status: "pending" });
    const [after] = await settled(id);
    expect(after?.status).toBe("delivered");
    expect(after?.attempts.map((a) => a.status_code)).toEqual([503, 503, 503, 503, 200]);
    const again = await retry();
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe("webhook_not_retryable");
    const none = await app.request("/admin/webhooks/deliveries/whd_nope/retry", {
      key: app.adminToken,
      method: "POST",
    });
    expect(none.status).toBe(404);
  });

  it("a 410 Gone disables the endpoint: no more events until its owner enables it again", async () => {
    const key = await app.newKey("owner_410");
    const ep = await register(key, "/410");
    receiver.script("/410", [410]);
    const first = await create(key, "a closed shop");
    await waitForTask(app, key, first);
    const [d] = await settled(first);
    // Not retried: the receiver said the URL is gone for good.
    expect(d?.status).toBe("failed");
    expect(d?.attempts.map((a) => a.status_code)).toEqual([410]);
    const listed = async () =>
      ((await (await app.request("/v1/webhooks", { key })).json()) as { data: Record<string, unknown>[] })
        .data[0];
    expect(await listed()).toMatchObject({ id: ep.id, status: "disabled" });
    expect(String((await listed())?.disabled_reason)).toContain("410 Gone");

    const second = await create(key, "still closed");
    await waitForTask(app, key, second);
    expect(await deliveries(second)).toEqual([]);

    // Only its owner may turn it back on.
    const stranger = await app.newKey("owner_stranger");
    const refused = await app.request(`/v1/webhooks/${ep.id}/enable`, { key: stranger, method: "POST" });
    expect(refused.status).toBe(404);
    const enabled = await app.request(`/v1/webhooks/${ep.id}/enable`, { key, method: "POST" });
    expect(enabled.status).toBe(200);
    expect(await enabled.json()).toMatchObject({ id: ep.id, status: "enabled", disabled_at: null });
    const third = await create(key, "open again");
    await waitForTask(app, key, third);
    const [back] = await settled(third);
    expect(back?.status).toBe("delivered");
    expect((await app.request("/v1/webhooks/whe_nope/enable", { key, method: "POST" })).status).toBe(404);
  });

  it("sends nothing to a deleted endpoint", async () => {
    const key = await app.newKey("owner_gone");
    const ep = await register(key, "/gone");
    expect((await app.request(`/v1/webhooks/${ep.id}`, { key, method: "DELETE" })).status).toBe(200);
    const id = await create(key, "an empty room");
    await waitForTask(app, key, id);
    // The event would have been written with the final status, in the same transaction.
    expect(await deliveries(id)).toEqual([]);
    expect(receiver.received.filter((r) => r.path === "/gone")).toEqual([]);
  });
});

describe("callback_url", () => {
  it("needs the owner's callback secret, then delivers signed with it", async () => {
    const key = await app.newKey("owner_cb");
    const url = `${receiver.url}/cb`;
    const refused = await app.request("/v1/video/create", {
      key,
      body: body("a red kite", { callback_url: url }),
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { param: string; message: string } }).error).toMatchObject({
      param: "callback_url",
      message: expect.stringMatching(/POST \/v1\/webhooks\/secret/),
    });

    const first = await app.request("/v1/webhooks/secret", { key, method: "POST" });
    expect(first.status).toBe(201);
    // Replaced: only the newest secret signs.
    const res = await app.request("/v1/webhooks/secret", { key, method: "POST" });
    const { secret } = (await res.json()) as { secret: string };
    expect(secret).not.toBe(((await first.json()) as { secret: string }).secret);
    receiver.secretFor("/cb", secret);

    const id = await create(key, "a red kite", { callback_url: url });
    await waitForTask(app, key, id);
    const [d] = await settled(id);
    expect(d).toMatchObject({ endpoint_id: null, status: "delivered", event_type: "video.completed" });
    const got = receiver.received.filter((r) => r.path === "/cb");
    expect(got.map((r) => r.verified)).toEqual([true]);
    expect(receiver.processed.get(String(d?.event_id))?.body.data).toMatchObject({ id, status: "completed" });
  });

  it.each([
    ["not a url", /not a valid URL/],
    ["http://192.168.1.10/hook", /192\.168\.1\.10, a private/],
    ["http://169.254.169.254/latest/meta-data/", /link-local/],
    ["http://[::ffff:10.0.0.1]/x", /IPv4-mapped private/],
    [123, /must be a string/],
  ])("refuses callback_url %j with a 400 naming it", async (callback, message) => {
    const key = await app.newKey("owner_cb_bad");
    await app.request("/v1/webhooks/secret", { key, method: "POST" });
    const res = await app.request("/v1/video/create", {
      key,
      body: body("a kite", { callback_url: callback }),
    });
    expect(res.status).toBe(400);
    const e = ((await res.json()) as { error: { param: string; message: string } }).error;
    expect(e.param).toBe("callback_url");
    expect(e.message).toMatch(message);
  });
});

describe("de-duplication", () => {
  it("the receiver processed every event once, whatever the retries", () => {
    const delivered = receiver.received.filter((r) => r.status >= 200 && r.status < 300);
    const perEndpointEvent = delivered.map((r) => `${r.path} ${String(r.headers["webhook-id"])}`);
    // No endpoint got a second 2xx delivery of one event.
    expect(new Set(perEndpointEvent).size).toBe(perEndpointEvent.length);
    expect(receiver.received.every((r) => r.verified)).toBe(true);
    expect(receiver.processed.size).toBeGreaterThanOrEqual(4);
  });
});

describe("progress webhooks", () => {
  it("go only to endpoints that list video.progress, never to the others or the task's callback_url", async () => {
    const key = await app.newKey("owner_progress");
    await register(key, "/progress-yes", ["video.progress", "video.cancelled"]);
    await register(key, "/progress-default");
    const listed = (await (await app.request("/v1/webhooks", { key })).json()) as {
      data: { url: string; events: string[] }[];
    };
    // An endpoint that named no events gets the final ones, shown as such.
    expect(listed.data.find((e) => e.url.endsWith("/progress-default"))?.events).toEqual([
      "video.completed",
      "video.failed",
      "video.cancelled",
    ]);
    const secret = (await (await app.request("/v1/webhooks/secret", { key, method: "POST" })).json()) as {
      secret: string;
    };
    receiver.secretFor("/progress-callback", secret.secret);
    const id = await create(key, "please hang with progress", {
      callback_url: `${receiver.url}/progress-callback`,
    });
    // The fake render reports 50 % and waits: the progress event reaches the endpoint that asked.
    await waitFor(
      () => [...receiver.processed.values()].filter((p) => p.path === "/progress-yes"),
      (ps) => ps.some((p) => p.body.type === "video.progress"),
      { what: "a video.progress webhook" },
    );
    expect(
      (await app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" })).status,
    ).toBe(200);
    await settled(id, 4);
    // Per path, from every request received (one event reaches several paths under one webhook-id).
    const byPath = (path: string) =>
      receiver.received
        .filter((r) => r.path === path && r.verified)
        .map((r) => JSON.parse(r.body) as { type: string; data: { id: string } })
        .filter((b) => b.data.id === id)
        .map((b) => b.type)
        .sort();
    expect(byPath("/progress-yes")).toEqual(["video.cancelled", "video.progress"]);
    expect(byPath("/progress-default")).toEqual(["video.cancelled"]);
    expect(byPath("/progress-callback")).toEqual(["video.cancelled"]);
    const progress = [...receiver.processed.values()].find(
      (p) => p.body.type === "video.progress" && p.body.data.id === id,
    );
    expect(progress?.body.data).toMatchObject({ status: "processing", progress: 50 });
  });
});
