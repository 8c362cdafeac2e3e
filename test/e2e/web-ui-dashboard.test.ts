/**
 * The operator's dashboard in a real headless Chromium, against a Reelay that ran a mixed
 * workload: local renders (the real renderer), two emulated OpenAI-shaped upstreams (separate
 * HTTP servers on loopback) with a moderation refusal, a crash that fails over, a refused create
 * that cools a channel down, and a cancel, with billing on (holds, settlements, refunds). Every
 * figure the page shows is checked against the store, queried directly. Screenshots of each view
 * go to a temp dir; `npm run screenshots:dashboard` writes them to docs/screenshots.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Kysely } from "kysely";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DB } from "../../src/adapters/sql/schema.js";
import { binHigh, binLow, binOf } from "../../src/core/stats/histogram.js";
import type { RunningEmulator } from "../emulators/common.js";
import { startOpenAiVideos } from "../emulators/openai-videos.js";
import { waitForTask } from "../helpers/app.js";
import { launchBrowser } from "../helpers/browser.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";

const SECRET_A = "secret-a-0123456789";
const SECRET_B = "secret-b-0123456789";

let a: RunningEmulator;
let b: RunningEmulator;
let s: ChannelApp;
let browser: Browser;
let page: Page;
let shots: string;
let scratch: string;
let db: Kysely<DB>;
const requested: string[] = [];
const ids: Record<string, string> = {};

async function create(key: string, model: string): Promise<string> {
  const res = await s.request("/v1/video/create", {
    key,
    body: { model, prompt: "a lighthouse at dusk", orientation: "landscape", size: "small", duration: 10 },
  });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "reelay-dashboard-"));
  shots = resolve(process.env.REELAY_SCREENSHOTS_DIR || join(scratch, "screenshots"));
  await mkdir(shots, { recursive: true });
  [a, b, browser] = await Promise.all([
    startOpenAiVideos({ secret: SECRET_A }),
    startOpenAiVideos({ secret: SECRET_B }),
    launchBrowser(),
  ]);
  a.core.defaultBehaviour = { runMs: 300, outcome: "complete" };
  b.core.defaultBehaviour = { runMs: 300, outcome: "complete" };
  s = await startWithChannels(
    {
      channels: [
        channel("a", "openai", a.url, {
          priority: 10,
          models: ["sora-2"],
          cooldown: { failures: 1, seconds: 600 },
        }),
        channel("b", "openai", b.url, { priority: 0, models: ["sora-2"], maxConcurrent: 4 }),
        { id: "local", kind: "local", models: ["sora-2-pro"] },
      ],
      pricing: { perSecond: { "sora-2": 1, "sora-2-pro": 2 } },
    },
    {
      env: {
        ...secretEnv("a", SECRET_A),
        ...secretEnv("b", SECRET_B),
        // Rolled on demand below; the background roller is slowed so that it does not race the checks.
        REELAY_STATS_INTERVAL_MS: "3600000",
        REELAY_STATS_SETTLE_MS: "0",
      },
    },
  );
  db = (s.container.services.db as unknown as { kysely: Kysely<DB> }).kysely;
  const keys: Record<string, string> = {};
  for (const owner of ["studio-north", "studio-south"]) {
    keys[owner] = await s.newKey(owner);
    await s.request(`/admin/accounts/${owner}/credits`, { key: s.adminToken, body: { amount: 1000 } });
  }
  const north = keys["studio-north"] ?? "";
  const south = keys["studio-south"] ?? "";

  // Local renders.
  ids.local1 = await create(north, "sora-2-pro");
  ids.local2 = await create(north, "sora-2-pro");
  // A moderation refusal on `a`: failed, refunded, never sent elsewhere.
  a.core.nextTask({ outcome: "fail", runMs: 200, failCode: "moderation_blocked", failMessage: "refused" });
  ids.refused = await create(south, "sora-2");
  await waitForTask(s, south, ids.refused);
  // A crash on `a` after acceptance: fails over to `b` and completes there.
  a.core.nextTask({
    outcome: "fail",
    runMs: 200,
    failCode: "server_error",
    failMessage: "the renderer crashed",
  });
  ids.failover = await create(south, "sora-2");
  await waitForTask(s, south, ids.failover);
  // A create `a` refuses with 503: it cools down (one failure is enough), the task goes to `b`.
  a.core.fault("create", { kind: "status", status: 503 });
  ids.cooled = await create(north, "sora-2");
  await waitForTask(s, north, ids.cooled);
  // A task `b` never finishes, cancelled: refunded.
  b.core.nextTask({ outcome: "never", runMs: 60_000 });
  ids.cancelled = await create(south, "sora-2");
  for (
    let i = 0;
    i < 200 &&
    (
      await db
        .selectFrom("upstream_tasks")
        .select("phase")
        .where("task_id", "=", ids.cancelled)
        .executeTakeFirst()
    )?.phase !== "polling";
    i++
  )
    await new Promise((r) => setTimeout(r, 50));
  const cancel = await s.request(`/v1/video/cancel?id=${encodeURIComponent(ids.cancelled)}`, {
    key: south,
    method: "POST",
  });
  expect(cancel.status).toBe(200);
  for (const id of [ids.local1, ids.local2])
    expect((await waitForTask(s, north, id ?? "")).status).toBe("completed");
  await s.container.statsRoller.runOnce();

  page = await (
    await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: "light" })
  ).newPage();
  page.on("request", (r) => requested.push(r.url()));
  await page.goto(`${s.url}/`);
  await page.getByLabel("API key").fill(s.adminToken);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#keys").waitFor();
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
  await Promise.all([a?.close(), b?.close()]);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/** Every task with what the dashboard should count it as, straight from the store's rows. */
async function storeTasks() {
  const tasks = await db
    .selectFrom("tasks")
    .select(["id", "owner_id", "status", "request", "cost", "created_at", "status_updated_at", "attempts"])
    .execute();
  const pins = new Map(
    (await db.selectFrom("upstream_tasks").select(["task_id", "channel_id"]).execute()).map((p) => [
      p.task_id,
      p.channel_id,
    ]),
  );
  const attempts = await db
    .selectFrom("task_attempts")
    .select(["task_id", "number", "channel_id", "error_class"])
    .orderBy("number")
    .execute();
  return tasks.map((t) => {
    const mine = attempts.filter((x) => x.task_id === t.id);
    const last = mine[mine.length - 1];
    const cost = JSON.parse(t.cost ?? "null") as {
      charged: number | null;
      refunded: number;
      held: number;
    } | null;
    return {
      id: t.id,
      owner: t.owner_id,
      status: t.status,
      model: (JSON.parse(t.request) as { model: string }).model,
      channel: pins.get(t.id) ?? last?.channel_id ?? (t.attempts > 0 ? "local" : null),
      failureClass: t.status === "failed" ? (last?.error_class ?? null) : null,
      charged: cost?.charged ?? 0,
      refunded: cost?.refunded ?? 0,
      latency: Number(t.status_updated_at) - Number(t.created_at),
      attempts: mine.length,
    };
  });
}

const text = async (selector: string) => (await page.locator(selector).first().textContent())?.trim() ?? "";
/** The attribute `name` of every element `selector` finds, in order. */
const attrs = (selector: string, name: string) =>
  page
    .locator(selector)
    .evaluateAll(
      (els: { getAttribute(n: string): string | null }[], n: string) => els.map((e) => e.getAttribute(n)),
      name,
    );
const value = async (selector: string) =>
  Number(await page.locator(selector).first().getAttribute("data-value"));

describe("operator's dashboard", () => {
  it("Now: tasks queued and running, each channel's state, load against its cap, and this process", async () => {
    await page.getByRole("link", { name: "Dashboard" }).click();
    await page.locator("#now-channels tr[data-channel='a']").waitFor();
    const counts = await db
      .selectFrom("tasks")
      .select(["status", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy("status")
      .execute();
    const count = (st: string) => Number(counts.find((c) => c.status === st)?.n ?? 0);
    expect(await value("#now-queued .stat")).toBe(count("pending"));
    expect(await value("#now-running .stat")).toBe(count("processing"));
    const health = await db.selectFrom("channel_health").selectAll().execute();
    const cooling = health.filter((h) => Number(h.cooldown_until) > Date.now()).map((h) => h.channel_id);
    expect(cooling).toEqual(["a"]);
    expect(
      await page.locator("#now-channels tr[data-channel='a'] [data-state]").getAttribute("data-state"),
    ).toBe("cooling_down");
    expect(await text("#now-channels tr[data-channel='a'] .cooling-until")).toMatch(/^until /);
    expect(await text("#now-channels tr[data-channel='a'] .last-error")).toBe(
      health.find((h) => h.channel_id === "a")?.last_error ?? "",
    );
    expect(
      await page.locator("#now-channels tr[data-channel='b'] [data-state]").getAttribute("data-state"),
    ).toBe("healthy");
    expect(await text("#now-channels tr[data-channel='b'] .in-flight")).toBe("0 / 4");
    expect(await page.locator("#now-processes li[data-process]").count()).toBe(1);
    await shot("dashboard-now");
  });

  it("Over time: final statuses, per channel and model success and latency, failure classes, credits, as in the store", async () => {
    await page.getByRole("link", { name: "Over time" }).click();
    await page.getByRole("link", { name: "Last hour" }).click();
    await page.locator("#dash-over-time[data-range='hour'] #chart-status").waitFor();
    const tasks = (await storeTasks()).filter((t) => ["completed", "failed", "cancelled"].includes(t.status));
    expect(tasks).toHaveLength(6);
    for (const st of ["completed", "failed", "cancelled"])
      expect(await value(`#total-${st} .stat`), st).toBe(tasks.filter((t) => t.status === st).length);
    // The bars of the status chart add up to the same.
    const bars = await page
      .locator("#chart-status .chart-point")
      .evaluateAll((els: { getAttribute(n: string): string | null }[]) =>
        els.map((e) => [e.getAttribute("data-series"), Number(e.getAttribute("data-value"))] as const),
      );
    expect(bars.filter(([st]) => st === "completed").reduce((n, [, v]) => n + v, 0)).toBe(
      tasks.filter((t) => t.status === "completed").length,
    );

    for (const ch of ["a", "b", "local"]) {
      const mine = tasks.filter((t) => t.channel === ch);
      const row = `#by-channel tr[data-name='${ch}']`;
      expect(Number(await text(`${row} [data-col='tasks']`)), ch).toBe(mine.length);
      const done = mine.filter((t) => t.status === "completed").length;
      const decided = done + mine.filter((t) => t.status === "failed").length;
      expect(await text(`${row} [data-col='success']`), ch).toBe(
        decided === 0 ? "—" : `${((done / decided) * 100).toFixed(1)}%`,
      );
    }
    // `a` ended one task (the refusal) with a failure of class content_policy; the crash failed over.
    expect(await text("#by-channel tr[data-name='a'] [data-col='classes']")).toBe("content_policy 1");
    // p50 of the local renders lies in the histogram bin of the exact median.
    const local = tasks
      .filter((t) => t.channel === "local" && t.status === "completed")
      .map((t) => t.latency)
      .sort((x, y) => x - y);
    const exact = local[Math.ceil(local.length / 2) - 1] ?? 0;
    const p50 = Number(
      await page.locator("#by-channel tr[data-name='local'] [data-col='p50']").getAttribute("data-ms"),
    );
    expect(p50).toBeGreaterThanOrEqual(Math.floor(binLow(binOf(exact))));
    expect(p50).toBeLessThanOrEqual(Math.ceil(binHigh(binOf(exact))));
    for (const model of ["sora-2", "sora-2-pro"])
      expect(Number(await text(`#by-model tr[data-name='${model}'] [data-col='tasks']`))).toBe(
        tasks.filter((t) => t.model === model).length,
      );

    // Credits: charged and refunded, in all and per owner, as the tasks' costs and the ledger say.
    const sum = (xs: typeof tasks, f: (t: (typeof tasks)[number]) => number) =>
      xs.reduce((n, t) => n + f(t), 0);
    expect(await value("#total-charged .stat")).toBe(sum(tasks, (t) => t.charged));
    expect(await value("#total-refunded .stat")).toBe(sum(tasks, (t) => t.refunded));
    const ledger = await db
      .selectFrom("ledger")
      .select(["owner_id", "kind", "amount"])
      .where("kind", "=", "refund")
      .execute();
    for (const owner of ["studio-north", "studio-south"]) {
      const mine = tasks.filter((t) => t.owner === owner);
      expect(Number(await text(`#money-owners tr[data-name='${owner}'] [data-col='charged']`))).toBe(
        sum(mine, (t) => t.charged),
      );
      expect(Number(await text(`#money-owners tr[data-name='${owner}'] [data-col='refunded']`))).toBe(
        sum(mine, (t) => t.refunded),
      );
    }
    // Refunds in the ledger: the refused task's and the cancelled one's whole holds.
    expect(ledger.reduce((n, r) => n + Number(r.amount), 0)).toBe(
      sum(
        tasks.filter((t) => t.status !== "completed"),
        (t) => t.refunded,
      ),
    );
    // Polls were counted (the upstream tasks were polled until they ended).
    const polls = (await attrs("#chart-events .chart-point[data-series='polls']", "data-value")).reduce(
      (n, v) => n + Number(v),
      0,
    );
    const stored = await db
      .selectFrom("stats_events")
      .select((eb) => eb.fn.sum<number>("count").as("n"))
      .where("grain", "=", "minute")
      .where("kind", "=", "poll")
      .executeTakeFirst();
    expect(polls).toBeGreaterThan(0);
    expect(polls).toBeCloseTo(Number(stored?.n ?? 0), 5);
    await shot("dashboard-over-time");

    for (const range of ["day", "30d"]) {
      await page.locator(`.range-picker [data-range='${range}']`).click();
      await page.locator(`#dash-over-time[data-range='${range}'] #chart-status`).waitFor();
      expect(await value("#total-completed .stat"), range).toBe(
        tasks.filter((t) => t.status === "completed").length,
      );
      expect(await value("#total-charged .stat"), range).toBe(sum(tasks, (t) => t.charged));
    }
  });

  it("Drill-down: a chart point lists the tasks behind it, and a task shows its attempts, channel, cost and events", async () => {
    await page.locator(".range-picker [data-range='hour']").click();
    await page.locator("#dash-over-time[data-range='hour'] #chart-status").waitFor();
    const point = page.locator("#chart-status .chart-point[data-series='failed']").first();
    const bucket = Number(await point.getAttribute("data-bucket"));
    await point.click();
    await page.locator("#drill-rows tr[data-id]").first().waitFor();
    const expected = await db
      .selectFrom("tasks")
      .select("id")
      .where("status", "=", "failed")
      .where("status_updated_at", ">=", bucket)
      .where("status_updated_at", "<", bucket + 60_000)
      .execute();
    const listed = await attrs("#drill-rows tr[data-id]", "data-id");
    expect(listed.sort()).toEqual(expected.map((r) => r.id).sort());
    await shot("dashboard-drill-down");

    // The channel table's row opens the drill-down of that channel, and then the failed-over task.
    await page.getByRole("link", { name: "Over time" }).click();
    await page.locator("#by-channel tr[data-name='b']").click();
    await page.locator(`#drill-rows tr[data-id='${ids.failover}']`).waitFor();
    const onB = (await storeTasks()).filter((t) => t.channel === "b").map((t) => t.id);
    expect(await page.locator("#drill-rows tr[data-id]").count()).toBe(onB.length);
    await page.locator(`#drill-rows tr[data-id='${ids.failover}'] a`).click();
    await page.locator("#admin-task #attempts").waitFor();
    const attempts = await db
      .selectFrom("task_attempts")
      .selectAll()
      .where("task_id", "=", ids.failover ?? "")
      .orderBy("number")
      .execute();
    expect(await attrs("#admin-task .attempt", "data-outcome")).toEqual(attempts.map((x) => x.outcome));
    expect(await text("#at-channel")).toBe("b");
    expect(await text("#at-upstream")).toBe(attempts[1]?.upstream_id ?? "");
    expect(await text("#at-cost")).toMatch(/credits charged/);
    const row = await db
      .selectFrom("tasks")
      .select(["created_at", "status_updated_at"])
      .where("id", "=", ids.failover ?? "")
      .executeTakeFirstOrThrow();
    const took = Number(row.status_updated_at) - Number(row.created_at);
    expect(took).toBeLessThan(60_000);
    expect(await text("#at-took")).toBe(took < 1000 ? `${took} ms` : `${(took / 1000).toFixed(1)} s`);
    const events = await db
      .selectFrom("task_events")
      .select("type")
      .where("task_id", "=", ids.failover ?? "")
      .orderBy("seq")
      .execute();
    expect(await attrs("#at-events li", "data-type")).toEqual(events.map((e) => e.type));
    expect(await page.locator("#at-ledger li[data-kind='hold']").count()).toBe(1);
    await shot("dashboard-task");
  });

  it("asked nothing of any host but this one", () => {
    const origin = new URL(s.url).origin;
    expect(requested.length).toBeGreaterThan(0);
    expect(requested.filter((u) => !u.startsWith(origin) && !u.startsWith("data:"))).toEqual([]);
  });
});
