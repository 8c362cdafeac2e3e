/**
 * Credits: a pre-charge on create, settled on what was delivered, refunded exactly once when the
 * task fails, is cancelled or times out; the ledger always sums to the balance.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { TEST_PRICING } from "../helpers/billing.js";
import { FakeProvider, type Outcome } from "../helpers/fake-provider.js";

let dir: string;
let configFile: string;
const apps: TestApp[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-billing-"));
  configFile = join(dir, "reelay.json");
  // sora-2: 2 credits a second; sora-2-pro large 15 s: 100 a task.
  await writeFile(
    configFile,
    JSON.stringify({
      pricing: TEST_PRICING,
      // Priced by the catalogue, per second by resolution (fractions of a credit round up per task).
      models: [
        { name: "clip-priced", extends: "sora-2-pro", price: { perSecond: { "720p": 1.5, "1080p": 3 } } },
      ],
    }),
  );
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function setup(script: Outcome[] = [], engine: Parameters<typeof startTestApp>[0] = {}) {
  const provider = new FakeProvider(script);
  const app = await startTestApp({
    env: { REELAY_CONFIG_FILE: configFile },
    overrides: { provider },
    engine: { backoffBaseMs: 10, backoffMaxMs: 20, ...engine.engine },
  });
  apps.push(app);
  const owner = `owner-${apps.length}-${Date.now()}`;
  const res = await app.request("/admin/keys", { key: app.adminToken, body: { owner_id: owner } });
  const { key } = (await res.json()) as { key: string };
  const topUp = async (amount: number) =>
    app.request(`/admin/accounts/${owner}/credits`, { key: app.adminToken, body: { amount } });
  const account = async () =>
    (await (await app.request(`/admin/accounts/${owner}`, { key: app.adminToken })).json()) as {
      balance: number;
      used: number;
      topped_up: number;
    };
  const create = (body: object = {}) =>
    app.request("/v1/video/create", {
      key,
      body: {
        model: "sora-2",
        prompt: "paid",
        orientation: "portrait",
        size: "small",
        duration: 10,
        ...body,
      },
    });
  const invariant = async () => {
    const a = await account();
    expect(a.balance + a.used).toBe(a.topped_up);
    expect(await app.container.services.accounts.ledgerSum(owner)).toBe(a.balance);
    expect(a.balance).toBeGreaterThanOrEqual(0);
    return a;
  };
  return { app, provider, key, owner, topUp, account, create, invariant };
}

describe("billing", () => {
  it("without credits a create is 402 and nothing is queued; with them it is pre-charged", async () => {
    const { app, create, topUp, invariant, key } = await setup();
    const refused = await create();
    expect(refused.status).toBe(402);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("insufficient_credits");
    expect((await app.container.services.queue.depth(Date.now())).queued).toBe(0);

    await topUp(100);
    const res = await create();
    const { id } = (await res.json()) as { id: string };
    expect((await invariant()).balance).toBe(80);
    expect((await waitForTask(app, key, id)).status).toBe("completed");
    expect(await invariant()).toMatchObject({ balance: 80, used: 20, topped_up: 100 });
    const usage = (await (await app.request("/v1/usage", { key })).json()) as {
      data: { charged: number; net: number }[];
      billing: boolean;
    };
    expect(usage.billing).toBe(true);
    expect(usage.data[0]).toMatchObject({ charged: 20, net: 20 });
  });

  it("a provider failure is refunded: balance back, used back", async () => {
    const { app, create, topUp, invariant, key } = await setup([
      { error: errors.imageFetchFailed(0, "gone", false) },
    ]);
    await topUp(50);
    const { id } = (await (await create()).json()) as { id: string };
    expect((await waitForTask(app, key, id)).status).toBe("failed");
    expect(await invariant()).toMatchObject({ balance: 50, used: 0 });
  });

  it("retries do not charge again; a task that times out is refunded once", async () => {
    const flaky = { error: errors.imageFetchFailed(0, "503", true) };
    const { app, create, topUp, invariant, key } = await setup([flaky, "ok"]);
    await topUp(100);
    const a = (await (await create()).json()) as { id: string };
    expect((await waitForTask(app, key, a.id)).status).toBe("completed");
    expect((await invariant()).balance).toBe(80);

    const slow = await setup(["hang"], { engine: { taskTimeoutS: 1 } });
    await slow.topUp(30);
    const b = (await (await slow.create()).json()) as { id: string };
    const t = await waitForTask(slow.app, slow.key, b.id, { timeoutMs: 30_000 });
    expect(t.error).toMatchObject({ code: "task_timeout" });
    expect(await slow.invariant()).toMatchObject({ balance: 30, used: 0 });
  });

  it("cancel refunds; cancelling again or deleting after does not refund twice", async () => {
    const { app, create, topUp, invariant, key } = await setup(["hang"]);
    await topUp(40);
    const { id } = (await (await create()).json()) as { id: string };
    expect((await invariant()).balance).toBe(20);
    await app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" });
    expect(
      (await app.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" })).status,
    ).toBe(409);
    await app.request(`/v1/videos/${encodeURIComponent(id)}`, { key, method: "DELETE" });
    expect(await invariant()).toMatchObject({ balance: 40, used: 0 });
  });

  it("settles on what was delivered: a shorter video gets the difference back", async () => {
    const { app, provider, create, topUp, invariant, key } = await setup();
    provider.deliverSeconds = 7;
    await topUp(100);
    const { id } = (await (await create()).json()) as { id: string };
    await waitForTask(app, key, id);
    // Held 10 s × 2 = 20; delivered 7 s × 2 = 14: 6 back.
    expect(await invariant()).toMatchObject({ balance: 86, used: 14 });
  });

  it("a per-task price applies to its exact match", async () => {
    const { app, create, topUp, invariant, key } = await setup();
    await topUp(150);
    const { id } = (await (await create({ model: "sora-2-pro", size: "large", duration: 15 })).json()) as {
      id: string;
    };
    await waitForTask(app, key, id);
    expect((await invariant()).balance).toBe(50);
    const noPrice = await create({ model: "sora-2-pro", size: "small", duration: 10 });
    expect(noPrice.status).toBe(400);
    expect(((await noPrice.json()) as { error: { param: string } }).error.param).toBe("model");
  });

  it("20 concurrent identical creates under one Idempotency-Key: one task, one charge", async () => {
    const { app, owner, topUp, invariant, key } = await setup(["hang"], { engine: { concurrency: 0 } });
    await topUp(100);
    const body = { model: "sora-2", prompt: "once", orientation: "portrait", size: "small", duration: 10 };
    const res = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.request("/v1/video/create", { key, body, headers: { "idempotency-key": "pay-once" } }),
      ),
    );
    const ids = new Set(await Promise.all(res.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    expect(await invariant()).toMatchObject({ balance: 80, used: 20 });
    const usage = (await (
      await app.request(`/admin/accounts/${owner}/usage`, { key: app.adminToken })
    ).json()) as {
      data: { charged: number }[];
    };
    expect(usage.data.reduce((s, r) => s + r.charged, 0)).toBe(20);
    const prices = (await (await app.request("/admin/prices", { key: app.adminToken })).json()) as {
      billing: boolean;
      unit: string;
    };
    expect(prices).toMatchObject({ billing: true, unit: "credits" });
  });

  it("prices a catalogue model per second by resolution, and shows the rates in /admin/prices", async () => {
    const { app, create, topUp, invariant } = await setup();
    await topUp(100);
    const small = await create({ model: "clip-priced", size: "small", duration: 15 });
    expect(small.status).toBe(200);
    expect(await invariant()).toMatchObject({ balance: 100 - 23, used: 23 }); // ceil(1.5 × 15)
    const large = await create({ model: "clip-priced", size: "large", duration: 10 });
    expect(large.status).toBe(200);
    expect(await invariant()).toMatchObject({ balance: 100 - 23 - 30, used: 53 });
    const prices = (await (await app.request("/admin/prices", { key: app.adminToken })).json()) as {
      catalogue: Record<string, unknown>;
    };
    expect(prices.catalogue["clip-priced"]).toEqual({
      per_second: { "720p": 1.5, "1080p": 3 },
      with_audio: null,
    });
  });

  it("concurrent creates racing a small balance never overdraw it", async () => {
    const { create, topUp, invariant } = await setup(["hang"], { engine: { concurrency: 0 } });
    await topUp(50);
    const statuses = (await Promise.all(Array.from({ length: 10 }, () => create())))
      .map((r) => r.status)
      .sort();
    expect(statuses).toEqual([200, 200, 402, 402, 402, 402, 402, 402, 402, 402]);
    expect(await invariant()).toMatchObject({ balance: 10, used: 40 });
  });
});
