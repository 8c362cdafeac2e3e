/** Cancelling tasks: pending ones never run, running ones stop, finished ones cannot be cancelled. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { pollUntil } from "../helpers/wait.js";

let app: TestApp;
let provider: FakeProvider;
let key: string;
let open: () => void = () => undefined;

beforeAll(async () => {
  const gate = new Promise<void>((r) => {
    open = r;
  });
  provider = new FakeProvider(["hang"], { gate });
  app = await startTestApp({ overrides: { provider }, engine: { concurrency: 1 } });
  key = await app.newKey();
});
afterAll(async () => {
  open();
  await app.close();
});

const create = async () => {
  const res = await app.request("/v1/videos", { key, body: { prompt: "to cancel" } });
  return ((await res.json()) as { id: string }).id;
};

it("a running task stops at once and ends cancelled; a queued one never runs", async () => {
  const running = await create();
  const queued = await create();
  await pollUntil(
    () => provider.active,
    (n) => n > 0,
    { what: "the render to start", timeoutMs: 2000, intervalMs: 20 },
  );
  expect(provider.active).toBe(1);

  const res = await app.request(`/v1/video/cancel?id=${encodeURIComponent(running)}`, {
    key,
    method: "POST",
  });
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ id: running, status: "cancelled", error: null });
  // The hung render was aborted (the provider saw the signal), not left running.
  await pollUntil(
    () => provider.active,
    (n) => n === 0,
    { what: "the render to stop", timeoutMs: 2000, intervalMs: 20 },
  );
  expect(provider.active).toBe(0);

  const rest = await app.request(`/v1/videos/${encodeURIComponent(queued)}/cancel`, { key, method: "POST" });
  expect(await rest.json()).toMatchObject({ id: queued, status: "failed", error: { code: "cancelled" } });
  const calls = provider.calls;
  open();
  const after = await create();
  expect((await waitForTask(app, key, after)).status).toBe("completed");
  // The cancelled queued task was never handed to the provider.
  expect(provider.calls).toBe(calls + 1);
  expect((await waitForTask(app, key, queued)).status).toBe("cancelled");
  expect((await waitForTask(app, key, running)).status).toBe("cancelled");
});

it("a finished task cannot be cancelled: 409 the client is told not to retry", async () => {
  const id = await create();
  await waitForTask(app, key, id);
  const res = await app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
  expect(res.status).toBe(409);
  expect(res.headers.get("x-should-retry")).toBe("false");
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe("task_not_cancellable");
});
