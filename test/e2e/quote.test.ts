/**
 * Quote, hold, settle (issue 19 item 3) against the running app with billing on: a quote equals
 * the later charge; a short balance is `covered: false` and the create then 402 naming the
 * shortfall; `dry_run` on both creates (JSON and multipart) creates, charges, stores and sends
 * nothing; the task shows its cost in both APIs and its ledger (hold, settlement, refund) to its
 * owner and the admin; settlement reconciles to the provider's reported seconds (DashScope) and
 * prices its reported tokens (Seedance).
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import { startDashScope } from "../emulators/dashscope.js";
import { startSeedance } from "../emulators/seedance.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { TEST_PRICING } from "../helpers/billing.js";
import { channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { FakeProvider, type Outcome } from "../helpers/fake-provider.js";
import { TINY_PNG } from "../helpers/images.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";

let dir: string;
let configFile: string;
const running = closedAfterEach();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "reelay-quote-"));
  configFile = join(dir, "reelay.json");
  await writeFile(configFile, JSON.stringify({ pricing: TEST_PRICING }));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const SEED = {
  model: "sora-2",
  prompt: "a quoted video",
  orientation: "portrait",
  size: "small",
  duration: 10,
};

interface Quote {
  object: string;
  dry_run: boolean;
  model: string;
  channel: { id: string; kind: string; predicted: boolean } | null;
  channel_note: string;
  billing: boolean;
  price: number;
  breakdown: { rule: string; seconds: number; resolution: string; audio: boolean; rate: number } | null;
  balance: number | null;
  covered: boolean;
  shortfall: number;
}
interface Cost {
  held: number;
  charged: number | null;
  refunded: number;
  currency: string;
  rule: string;
  seconds: number;
  billed_seconds?: number;
  basis?: string;
  provider_cost_usd?: number;
}
interface Ledger {
  task_id: string;
  cost: Cost | null;
  data: { kind: string; amount: number; attempt: number; detail: Record<string, unknown> | null }[];
}

async function setup(script: Outcome[] = [], env: Record<string, string> = {}) {
  const provider = new FakeProvider(script);
  const app = await startTestApp({
    env: { REELAY_CONFIG_FILE: configFile, ...env },
    overrides: { provider },
    engine: { backoffBaseMs: 10, backoffMaxMs: 20 },
  });
  running.push(app);
  return { app, provider, ...(await owner(app)) };
}

/** A new owner with a key, and what they can see of their money. */
async function owner(app: TestApp) {
  const id = `owner-${Math.random().toString(36).slice(2)}`;
  const key = await app.newKey(id);
  const topUp = (amount: number) =>
    app.request(`/admin/accounts/${id}/credits`, { key: app.adminToken, body: { amount } });
  const account = async () =>
    (await (await app.request(`/admin/accounts/${id}`, { key: app.adminToken })).json()) as {
      balance: number;
      used: number;
      topped_up: number;
    };
  const quote = async (body: object = {}) => {
    const res = await app.request("/v1/video/quote", { key, body: { ...SEED, ...body } });
    return { status: res.status, json: (await res.json()) as Quote };
  };
  const ledger = async (taskId: string) =>
    (await (
      await app.request(`/v1/video/ledger?id=${encodeURIComponent(taskId)}`, { key })
    ).json()) as Ledger;
  const videos = async () =>
    ((await (await app.request("/v1/videos?limit=100", { key })).json()) as { data: unknown[] }).data.length;
  return { owner: id, key, topUp, account, quote, ledger, videos };
}

describe("quote", () => {
  it("a quote equals the hold, and the settled charge; the balance after is exact; both APIs show the cost", async () => {
    const { app, key, topUp, account, quote, ledger } = await setup();
    await topUp(100);
    const q = await quote();
    expect(q.status).toBe(200);
    expect(q.json).toMatchObject({
      object: "video.quote",
      dry_run: true,
      model: "sora-2",
      billing: true,
      currency: "credits",
      price: 20,
      breakdown: { rule: "per_second", seconds: 10, resolution: "720p", audio: false, rate: 2 },
      balance: 100,
      covered: true,
      shortfall: 0,
    });
    expect(q.json.channel).toMatchObject({ kind: "local", predicted: true });
    expect(q.json.channel_note).toContain("prediction");
    expect(await account()).toMatchObject({ balance: 100, used: 0 });

    const res = await app.request("/v1/video/create", { key, body: SEED });
    const { id } = (await res.json()) as { id: string };
    expect((await account()).balance).toBe(100 - q.json.price);
    const done = await waitForTask(app, key, id);
    expect(done.status).toBe("completed");
    expect(await account()).toMatchObject({ balance: 100 - q.json.price, used: q.json.price });
    const cost = { held: 20, charged: 20, refunded: 0, currency: "credits", rule: "per_second", seconds: 10 };
    expect(done.cost).toMatchObject({ ...cost, billed_seconds: 10, basis: "delivered" });
    const retrieved = (await (await app.request(`/v1/videos/${encodeURIComponent(id)}`, { key })).json()) as {
      cost: Cost;
    };
    expect(retrieved.cost).toEqual(done.cost);
    const l = await ledger(id);
    expect(l.cost).toEqual(done.cost);
    expect(l.data.map((e) => [e.kind, e.amount, e.attempt])).toEqual([
      ["hold", -20, 0],
      ["settle", 0, 0],
    ]);
    expect(l.data[0]?.detail).toMatchObject({ rule: "per_second", seconds: 10, rate: 2 });
    expect(l.data[1]?.detail).toMatchObject({ charged: 20, billed_seconds: 10, basis: "delivered" });
    const admin = (await (
      await app.request(`/admin/tasks/${encodeURIComponent(id)}/ledger`, { key: app.adminToken })
    ).json()) as Ledger;
    expect(admin).toEqual(l);
  });

  it("a per-task price quotes as per_task; a shorter delivery settles its share and shows the release", async () => {
    const { app, provider, key, topUp, account, quote, ledger } = await setup();
    provider.deliverSeconds = 9;
    await topUp(150);
    const body = { model: "sora-2-pro", size: "large", duration: 15 };
    const q = await quote(body);
    expect(q.json).toMatchObject({ price: 100, breakdown: { rule: "per_task", seconds: 15, rate: 100 } });
    const { id } = (await (
      await app.request("/v1/video/create", { key, body: { ...SEED, ...body } })
    ).json()) as {
      id: string;
    };
    const done = await waitForTask(app, key, id);
    // 9 of 15 seconds: ceil(100 × 9 / 15) = 60 charged, 40 released.
    expect(done.cost).toMatchObject({ held: 100, charged: 60, refunded: 40, billed_seconds: 9 });
    expect(await account()).toMatchObject({ balance: 90, used: 60 });
    expect((await ledger(id)).data.map((e) => [e.kind, e.amount])).toEqual([
      ["hold", -100],
      ["settle", 40],
    ]);
  });

  it("covered: false names the shortfall, and the create is then 402 naming it too", async () => {
    const { app, key, topUp, quote, videos } = await setup();
    await topUp(5);
    const q = await quote();
    expect(q.json).toMatchObject({ price: 20, balance: 5, covered: false, shortfall: 15 });
    const res = await app.request("/v1/video/create", { key, body: SEED });
    expect(res.status).toBe(402);
    const err = ((await res.json()) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("insufficient_credits");
    expect(err.message).toContain("costs 20 credits and the balance is 5: 15 short");
    expect(await videos()).toBe(0);
  });

  it("a failed task is refunded: its cost and ledger show the hold and the refund", async () => {
    const { app, key, topUp, account, ledger } = await setup([
      { error: errors.imageFetchFailed(0, "gone", false) },
    ]);
    await topUp(50);
    const { id } = (await (await app.request("/v1/video/create", { key, body: SEED })).json()) as {
      id: string;
    };
    const done = await waitForTask(app, key, id);
    expect(done.status).toBe("failed");
    expect(done.cost).toMatchObject({ held: 20, charged: 0, refunded: 20 });
    expect((await ledger(id)).data.map((e) => [e.kind, e.amount])).toEqual([
      ["hold", -20],
      ["refund", 20],
    ]);
    expect(await account()).toMatchObject({ balance: 50, used: 0 });
  });

  it("an invalid quote body is a 400 naming the field, as create answers it", async () => {
    const { app, key, quote } = await setup();
    for (const [body, param] of [
      [{ duration: "ten" }, "duration"],
      [{ prompt: "" }, "prompt"],
      [{ model: "no-such-model" }, "model"],
      [{ extra: 1 }, "extra"],
    ] as const) {
      const q = await app.request("/v1/video/quote", { key, body: { ...SEED, ...body } });
      const c = await app.request("/v1/video/create", { key, body: { ...SEED, ...body, dry_run: true } });
      expect([q.status, c.status]).toEqual([400, 400]);
      const qe = ((await q.json()) as { error: { param: string } }).error;
      expect(qe.param).toBe(param);
      expect(((await c.json()) as { error: { param: string } }).error).toEqual(qe);
    }
    // A model without a price cannot be created, so it cannot be quoted either.
    const unpriced = await quote({ model: "sora-2-pro", size: "small" });
    expect(unpriced.status).toBe(400);
    expect((unpriced.json as unknown as { error: { param: string } }).error.param).toBe("model");
    const badFlag = await app.request("/v1/video/create", { key, body: { ...SEED, dry_run: "yes" } });
    expect(((await badFlag.json()) as { error: { param: string } }).error.param).toBe("dry_run");
  });

  it("with billing off, a quote says so: price 0, no balance, covered", async () => {
    const app = await startTestApp({ overrides: { provider: new FakeProvider() } });
    running.push(app);
    const { quote } = await owner(app);
    const q = await quote();
    expect(q.status).toBe(200);
    expect(q.json).toMatchObject({ billing: false, price: 0, breakdown: null, balance: null, covered: true });
    expect(q.json.channel_note).toContain("billing is off");
  });
});

/** Every file under `root`, as paths relative to it. */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length));
}

describe("dry_run", () => {
  it("on both creates, JSON and multipart, answers the quote and creates, charges, stores and sends nothing", async () => {
    const ds = await startDashScope({ secret: "sk-dry-0123456789" });
    running.push(ds);
    const config = join(dir, "dry.json");
    await writeFile(
      config,
      JSON.stringify({
        pricing: { perSecond: { "sora-2": 2 } },
        channels: [channel("a", "dashscope", ds.url, { models: ["wan2.5"] }), { id: "local", kind: "local" }],
      }),
    );
    const { app, key, topUp, account, videos } = await setup([], {
      REELAY_CONFIG_FILE: config,
      ...secretEnv("a", "sk-dry-0123456789"),
    });
    await topUp(1000);
    const before = await filesUnder(app.config.dataDir);

    const wan = {
      model: "wan2.5",
      prompt: "a dry run",
      orientation: "landscape",
      size: "large",
      duration: 5,
    };
    const unified = await app.request("/v1/video/create", { key, body: { ...wan, dry_run: true } });
    expect(unified.status).toBe(200);
    const uq = (await unified.json()) as Quote;
    // wan2.5 at 1080p: 15 credits a second from the catalogue, for 5 s.
    expect(uq).toMatchObject({ dry_run: true, price: 75, breakdown: { rule: "catalogue", rate: 15 } });
    expect(uq.channel).toEqual({ id: "a", kind: "dashscope", predicted: true });

    const json = await app.request("/v1/videos", {
      key,
      body: { prompt: "dry", model: "sora-2", seconds: "8", size: "720x1280", dry_run: true },
    });
    expect(json.status).toBe(200);
    expect((await json.json()) as Quote).toMatchObject({
      price: 16,
      channel: { id: "local" },
      covered: true,
    });

    const form = new FormData();
    form.set("prompt", "dry with an image");
    form.set("model", "sora-2");
    form.set("seconds", "4");
    form.set("dry_run", "true");
    form.set("input_reference", new Blob([TINY_PNG], { type: "image/png" }), "ref.png");
    const multipart = await fetch(`${app.url}/v1/videos`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: form,
    });
    expect(multipart.status).toBe(200);
    expect((await multipart.json()) as Quote).toMatchObject({ object: "video.quote", price: 8 });

    expect(await videos()).toBe(0);
    expect(await account()).toMatchObject({ balance: 1000, used: 0 });
    expect(ds.core.requests).toEqual([]);
    expect(await filesUnder(app.config.dataDir)).toEqual(before);
  });
});

/** An app with one upstream channel `a` billed by the catalogue, and an owner with 200 credits. */
async function billedChannel(kind: "dashscope" | "seedance", url: string, model: string, secret: string) {
  const s = await startWithChannels(
    { channels: [channel("a", kind, url, { models: [model] })], pricing: { perSecond: {} } },
    { env: secretEnv("a", secret) },
  );
  running.push(s);
  const o = await owner(s);
  await o.topUp(200);
  const body = { model, prompt: `billed by ${kind}`, orientation: "landscape", size: "large", duration: 5 };
  return { s, body, ...o };
}

describe("settlement to the provider's usage", () => {
  it("DashScope reports fewer seconds billed than delivered: settled on those, never above the hold", async () => {
    const ds = await startDashScope({ secret: "sk-usage-0123456789" });
    ds.core.defaultBehaviour = { runMs: 300, outcome: "complete" };
    running.push(ds);
    const { s, key, account, quote, ledger, body } = await billedChannel(
      "dashscope",
      ds.url,
      "wan2.5",
      "sk-usage-0123456789",
    );
    const q = await quote(body);
    expect(q.json).toMatchObject({
      price: 75,
      breakdown: { rule: "catalogue", seconds: 5, resolution: "1080p" },
    });

    ds.core.nextTask({ billedSeconds: 3 });
    const { id } = (await (
      await s.request("/v1/video/create", { key, body: { ...SEED, ...body } })
    ).json()) as {
      id: string;
    };
    const done = await waitForTask(s, key, id);
    expect(done.status).toBe("completed");
    expect(done.usage).toEqual({ seconds: 3 });
    // 5 s delivered, 3 s billed upstream: 3 × 15 = 45 charged, 30 back.
    expect(done.cost).toMatchObject({
      held: 75,
      charged: 45,
      refunded: 30,
      billed_seconds: 3,
      basis: "provider_seconds",
    });
    expect(await account()).toMatchObject({ balance: 155, used: 45 });
    expect((await ledger(id)).data.map((e) => [e.kind, e.amount])).toEqual([
      ["hold", -75],
      ["settle", 30],
    ]);

    // A provider reporting more than it delivered changes nothing: the delivered seconds stand.
    ds.core.nextTask({ billedSeconds: 9 });
    const again = (await (
      await s.request("/v1/video/create", { key, body: { ...SEED, ...body } })
    ).json()) as {
      id: string;
    };
    const more = await waitForTask(s, key, again.id);
    expect(more.cost).toMatchObject({
      held: 75,
      charged: 75,
      refunded: 0,
      billed_seconds: 5,
      basis: "delivered",
    });
  });

  it("Seedance reports tokens: kept with the provider's cost in US$ from the catalogue's token price", async () => {
    const sd = await startSeedance({ secret: "ark-usage-0123456789" });
    sd.core.defaultBehaviour = { runMs: 300, outcome: "complete" };
    running.push(sd);
    const { s, key, quote, body } = await billedChannel(
      "seedance",
      sd.url,
      "seedance-1.0-pro",
      "ark-usage-0123456789",
    );
    const q = await quote(body);
    // 12.24 credits a second at 1080p, 5 s: 61.2, rounded up.
    expect(q.json).toMatchObject({ price: 62, breakdown: { rule: "catalogue", rate: 12.24 } });
    const { id } = (await (
      await s.request("/v1/video/create", { key, body: { ...SEED, ...body } })
    ).json()) as {
      id: string;
    };
    const done = await waitForTask(s, key, id);
    const tokens = (done.usage as { tokens: number }).tokens;
    expect(tokens).toBe(Math.round((1920 * 1088 * 24 * 5) / 1024));
    expect(done.cost).toMatchObject({ held: 62, charged: 62, refunded: 0, basis: "delivered" });
    expect((done.cost as Cost).provider_cost_usd).toBeCloseTo((tokens * 2.5) / 1e6, 6);
  });
});
