/**
 * Tasks that an upstream channel finishes end in the upstream poller, not the render worker: their
 * events go out too (completed and failed), signed, to a receiver on 127.0.0.1.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { RunningEmulator } from "../emulators/common.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { pollUntil } from "../helpers/wait.js";
import { startWebhookReceiver, type WebhookReceiver } from "../helpers/webhook-receiver.js";

let relay: RunningEmulator;
let app: ChannelApp;
let receiver: WebhookReceiver;

beforeAll(async () => {
  relay = await startUnifiedRelay({ secret: "secret-up-0123456789" });
  relay.core.defaultBehaviour = { runMs: 200 };
  receiver = await startWebhookReceiver();
  app = await startWithChannels(
    { channels: [channel("up", "unified", relay.url)] },
    { env: { ...secretEnv("up", "secret-up-0123456789"), REELAY_ALLOW_HOSTS: receiver.host } },
  );
});
afterAll(async () => {
  await app?.close();
  await relay?.close();
  await receiver?.close();
});

it("sends video.completed and video.failed for tasks an upstream finished", async () => {
  const key = await app.newKey("owner_up");
  const reg = await app.request("/v1/webhooks", { key, body: { url: `${receiver.url}/up` } });
  expect(reg.status).toBe(201);
  receiver.secretFor("/up", ((await reg.json()) as { secret: string }).secret);

  const create = async () => {
    const res = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", prompt: "a tide pool", orientation: "portrait", size: "small", duration: 10 },
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { id: string }).id;
  };
  const ok = await create();
  expect((await waitForTask(app, key, ok)).status).toBe("completed");
  relay.core.nextTask({ outcome: "fail", runMs: 200, failMessage: "content policy violation" });
  const bad = await create();
  expect((await waitForTask(app, key, bad)).status).toBe("failed");

  const seen = () =>
    [...receiver.processed.values()].map((e) => [e.body.type, e.body.data.id, e.body.data.status]);
  await pollUntil(
    () => seen().length,
    (n) => n >= 2,
    { what: "two webhook events", timeoutMs: 30_000 },
  );
  expect(seen().sort()).toEqual(
    [
      ["video.completed", ok, "completed"],
      ["video.failed", bad, "failed"],
    ].sort(),
  );
  expect(receiver.received.every((r) => r.verified)).toBe(true);
});
