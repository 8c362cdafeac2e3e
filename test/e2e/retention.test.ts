/**
 * Records that would grow without bound are pruned by the worker (at start, then hourly):
 * finished webhook deliveries once older than REELAY_WEBHOOK_RETENTION_DAYS, while the task they
 * were about stays. The clock is moved forward between two runs of the app on one data dir.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { waitUntil } from "../helpers/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

const DAY_MS = 24 * 3600 * 1000;
let receiver: WebhookReceiver;
let dataDir = "";
let offsetMs = 0;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  dataDir = await mkdtemp(join(tmpdir(), "reelay-retention-"));
});
afterAll(async () => {
  await receiver?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const start = () =>
  startTestApp({
    dataDir,
    env: { REELAY_ALLOW_HOSTS: receiver.host, REELAY_WEBHOOK_RETENTION_DAYS: "7" },
    overrides: { provider: new FakeProvider(), clock: { now: () => Date.now() + offsetMs } },
  });

async function deliveries(app: TestApp, taskId: string): Promise<{ status: string }[]> {
  const res = await app.request(`/admin/webhooks/deliveries?task_id=${encodeURIComponent(taskId)}`, {
    key: app.adminToken,
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: { status: string }[] }).data;
}

it("finished webhook deliveries go after REELAY_WEBHOOK_RETENTION_DAYS; the task stays", async () => {
  let app = await start();
  let id = "";
  let key = "";
  try {
    key = await app.newKey();
    const ep = await app.request("/v1/webhooks", { key, body: { url: `${receiver.url}/hook` } });
    expect(ep.status).toBe(201);
    receiver.secretFor("/hook", ((await ep.json()) as { secret: string }).secret);
    const created = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", prompt: "kept", orientation: "portrait", size: "small", duration: 10 },
    });
    id = ((await created.json()) as { id: string }).id;
    expect((await waitForTask(app, key, id)).status).toBe("completed");
    const a = app;
    await waitUntil(async () => (await deliveries(a, id)).some((d) => d.status === "delivered"), {
      what: "the delivery",
    });
  } finally {
    await app.close();
  }

  // Eight days on: past it.
  offsetMs = 8 * DAY_MS;
  app = await start();
  try {
    const b = app;
    await waitUntil(async () => (await deliveries(b, id)).length === 0, { what: "the prune" });
    const task = await app.request(`/v1/video/query?id=${encodeURIComponent(id)}`, { key });
    expect(((await task.json()) as { status: string }).status).toBe("completed");
  } finally {
    await app.close();
  }
});
