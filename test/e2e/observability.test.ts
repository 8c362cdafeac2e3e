/** /metrics in Prometheus format, /healthz and /readyz. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp({
    overrides: { provider: new FakeProvider([{ error: errors.imageFetchFailed(0, "gone", false) }]) },
  });
  key = await app.newKey();
});
afterAll(() => app.close());

const metricValue = (text: string, line: RegExp): number => {
  const m = text.split("\n").find((l) => line.test(l));
  return m ? Number(m.split(" ").pop()) : Number.NaN;
};

it("GET /metrics reports requests by route, tasks by status, the queue and provider calls", async () => {
  const failed = await app.request("/v1/videos", { key, body: { prompt: "fails" } });
  const ok = await app.request("/v1/videos", { key, body: { prompt: "works" } });
  await waitForTask(app, key, ((await failed.json()) as { id: string }).id);
  await waitForTask(app, key, ((await ok.json()) as { id: string }).id);

  const res = await app.request("/metrics", { key: app.adminToken });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await res.text();
  expect(metricValue(text, /^reelay_tasks\{status="completed"\}/)).toBe(1);
  expect(metricValue(text, /^reelay_tasks\{status="failed"\}/)).toBe(1);
  expect(metricValue(text, /^reelay_queue_jobs\{state="queued"\}/)).toBe(0);
  expect(metricValue(text, /^reelay_provider_call_seconds_count\{provider="fake",outcome="ok"\}/)).toBe(1);
  expect(
    metricValue(text, /^reelay_provider_errors_total\{provider="fake",code="image_fetch_failed"\}/),
  ).toBe(1);
  expect(
    metricValue(
      text,
      /^reelay_http_request_duration_seconds_count\{method="POST",route="\/v1\/videos",status="200"\}/,
    ),
  ).toBe(2);
  // Route patterns, never raw URLs (ids and link signatures stay out of label values).
  expect(text).not.toMatch(/route="[^"]*task_/);
  expect(text).toMatch(/^reelay_process_resident_memory_bytes \d+/m);
});

it("/metrics needs the admin token", async () => {
  expect((await app.request("/metrics")).status).toBe(401);
  expect((await app.request("/metrics", { key })).status).toBe(403);
});
