/**
 * Failover after acceptance, against two emulated upstreams (separate HTTP servers on loopback)
 * with billing on: a task an upstream accepted and then failed for a reason that is not the
 * request's completes on the next channel, settled once, the failed attempt free; a moderation
 * refusal is never sent elsewhere; a task past its channel's time limit is cancelled there (the
 * emulator's log shows the cancel) and completes elsewhere; when every channel fails, one refund.
 * attempts[] shows the lineage in both APIs and the admin view.
 */
import type { Kysely } from "kysely";
import { describe, expect, it } from "vitest";
import type { DB } from "../../src/adapters/sql/schema.js";
import type { RunningEmulator } from "../emulators/common.js";
import { startOpenAiVideos } from "../emulators/openai-videos.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";

const running = closedAfterEach();

const SECRET_A = "secret-a-0123456789";
const SECRET_B = "secret-b-0123456789";

/** Two OpenAI-shaped upstreams: `a` is tried first (higher priority), `b` second. */
async function setup(opts: { a?: Record<string, unknown>; models?: object[]; database?: TestDatabase } = {}) {
  const a = await startOpenAiVideos({ secret: SECRET_A });
  const b = await startOpenAiVideos({ secret: SECRET_B });
  running.push(a, b);
  const s = await startWithChannels(
    {
      channels: [
        channel("a", "openai", a.url, { priority: 10, ...opts.a }),
        channel("b", "openai", b.url, { priority: 0 }),
      ],
      pricing: { perSecond: { "sora-2": 1 } },
      ...(opts.models ? { models: opts.models } : {}),
    },
    {
      env: {
        ...secretEnv("a", SECRET_A),
        ...secretEnv("b", SECRET_B),
        ...(opts.database
          ? {
              REELAY_DATABASE_URL: opts.database.url,
              REELAY_SIGNING_SECRET: "failover-signing-secret-0123456789abcdef",
            }
          : {}),
      },
    },
  );
  running.push(s);
  const owner = `o-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const key = await s.newKey(owner);
  await s.request(`/admin/accounts/${owner}/credits`, { key: s.adminToken, body: { amount: 100 } });
  return { a, b, s, owner, key };
}

async function create(s: ChannelApp, key: string): Promise<string> {
  const res = await s.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      prompt: "a lighthouse at dusk",
      orientation: "portrait",
      size: "small",
      duration: 10,
    },
  });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

interface Attempt {
  number: number;
  channel: string;
  upstream_id: string | null;
  outcome: string;
  error: { class: string; code: string | null; message: string } | null;
  started_at: number;
  ended_at: number | null;
  credits: number;
}

const routesSeen = (e: RunningEmulator) => e.core.requests.map((r) => r.route);

async function balance(s: ChannelApp, owner: string): Promise<number> {
  const res = await s.request(`/admin/accounts/${owner}`, { key: s.adminToken });
  return ((await res.json()) as { balance: number }).balance;
}

/** The task's ledger rows, as stored: kind and signed amount. */
async function ledgerOf(s: ChannelApp, taskId: string) {
  const { kysely } = s.container.services.db as unknown as { kysely: Kysely<DB> };
  const rows = await kysely
    .selectFrom("ledger")
    .select(["kind", "amount"])
    .where("task_id", "=", taskId)
    .orderBy("created_at")
    .execute();
  return rows.map((r) => ({ kind: r.kind, amount: Number(r.amount) }));
}

async function attemptsInBothApis(s: ChannelApp, key: string, id: string): Promise<Attempt[]> {
  const unified = (await s.query(key, id)).attempts as Attempt[];
  const res = await s.request(`/v1/videos/${encodeURIComponent(id)}`, { key });
  const openai = ((await res.json()) as { attempts: Attempt[] }).attempts;
  expect(openai).toEqual(unified);
  return unified;
}

describe("failover after acceptance", () => {
  it.each([
    { store: "SQLite", database: false },
    { store: "PostgreSQL", database: true },
  ])(
    "completes on the second channel a task the first failed while running: one settlement, the failed attempt free ($store)",
    async ({ database }) => {
      const db = database ? await createTestDatabase() : undefined;
      if (db) running.push({ close: () => db.drop() });
      const { a, b, s, owner, key } = await setup(db ? { database: db } : {});
      a.core.nextTask({
        outcome: "fail",
        runMs: 300,
        failCode: "server_error",
        failMessage: "the renderer crashed",
      });
      b.core.nextTask({ runMs: 300 });
      const id = await create(s, key);
      expect(await balance(s, owner)).toBe(90);
      const done = await waitForTask(s, key, id);
      expect(done.status, JSON.stringify(done)).toBe("completed");
      expect(routesSeen(a)).toContain("create");
      expect(routesSeen(b)).toContain("content");

      const attempts = await attemptsInBothApis(s, key, id);
      expect(attempts.map((t) => [t.number, t.channel, t.outcome])).toEqual([
        [1, "a", "failed"],
        [2, "b", "completed"],
      ]);
      const [first, second] = attempts as [Attempt, Attempt];
      expect(first.error).toEqual({
        class: "upstream_internal",
        code: "server_error",
        message: "the renderer crashed",
      });
      expect(first.credits).toBe(0);
      expect(first.upstream_id).toBe([...a.core.tasks.keys()][0]);
      expect(second.upstream_id).toBe([...b.core.tasks.keys()][0]);
      expect(second.error).toBeNull();
      expect(first.ended_at).not.toBeNull();
      expect(second.started_at).toBeGreaterThanOrEqual(first.ended_at ?? 0);

      // The money: held once, settled once to what was delivered, never refunded; the second
      // attempt carries exactly what the task cost.
      const ledger = await ledgerOf(s, id);
      expect(ledger.filter((r) => r.kind === "hold")).toEqual([{ kind: "hold", amount: -10 }]);
      expect(ledger.filter((r) => r.kind === "refund")).toEqual([]);
      expect(ledger.filter((r) => r.kind === "settle").length).toBeLessThanOrEqual(1);
      const cost = -ledger.reduce((sum, r) => sum + r.amount, 0);
      expect(second.credits).toBe(cost);
      expect(await balance(s, owner)).toBe(100 - cost);
      expect(await s.container.services.accounts.ledgerSum(owner)).toBe(100 - cost);

      // The admin view shows the lineage and the channel that delivered.
      const admin = await s.request(`/admin/tasks?owner_id=${owner}`, { key: s.adminToken });
      const row = ((await admin.json()) as { data: { id: string; channel: string; attempts: Attempt[] }[] })
        .data[0];
      expect(row?.channel).toBe("b");
      expect(row?.attempts.map((t) => t.outcome)).toEqual(["failed", "completed"]);
      const metrics = await (await s.request("/metrics", { key: s.adminToken })).text();
      expect(metrics).toMatch(/reelay_upstream_failovers_total\{channel="a",class="upstream_internal"\} 1/);
    },
  );

  it("never retries or fails over a moderation refusal: failed with content_policy, refunded, the second channel never asked", async () => {
    const { a, b, s, owner, key } = await setup();
    a.core.nextTask({
      outcome: "fail",
      runMs: 300,
      failCode: "moderation_blocked",
      failMessage: "the prompt names a real person",
    });
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "content_policy" });
    expect(String((done.error as { message: string }).message)).toContain("the prompt names a real person");
    expect(routesSeen(b)).toEqual([]);
    expect(routesSeen(a).filter((r) => r === "create")).toEqual(["create"]);
    const attempts = await attemptsInBothApis(s, key, id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({
      channel: "a",
      outcome: "failed",
      credits: 0,
      error: { class: "content_policy", code: "moderation_blocked" },
    });
    expect(await balance(s, owner)).toBe(100);
    expect((await ledgerOf(s, id)).map((r) => r.kind)).toEqual(["hold", "refund"]);
  });

  it("cancels a task past its channel's time limit there (the upstream's log shows the cancel) and completes it on the next", async () => {
    const { a, b, s, key } = await setup({ a: { taskTimeoutS: 1 } });
    a.core.nextTask({ outcome: "never" });
    b.core.nextTask({ runMs: 300 });
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const first = [...a.core.tasks.values()][0];
    expect(first?.cancelled).toBe(true);
    const cancel = a.core.requests.find((r) => r.route === "cancel");
    expect(cancel?.method).toBe("DELETE");
    expect(cancel?.path).toBe(`/v1/videos/${first?.id}`);
    const attempts = await attemptsInBothApis(s, key, id);
    expect(attempts.map((t) => [t.channel, t.outcome, t.error?.class ?? null])).toEqual([
      ["a", "failed", "timeout"],
      ["b", "completed", null],
    ]);
  });

  it("refunds once when every channel fails, and stops at the model's limit of attempts", async () => {
    const { a, b, s, owner, key } = await setup();
    a.core.nextTask({ outcome: "fail", runMs: 200, failCode: "server_error", failMessage: "crash one" });
    b.core.nextTask({ outcome: "fail", runMs: 200, failCode: "server_error", failMessage: "crash two" });
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status).toBe("failed");
    expect(done.error).toMatchObject({ code: "upstream_failed" });
    expect(String((done.error as { message: string }).message)).toContain("crash two");
    const attempts = await attemptsInBothApis(s, key, id);
    expect(attempts.map((t) => [t.channel, t.outcome, t.credits])).toEqual([
      ["a", "failed", 0],
      ["b", "failed", 0],
    ]);
    expect(await balance(s, owner)).toBe(100);
    expect((await ledgerOf(s, id)).map((r) => r.kind)).toEqual(["hold", "refund"]);
  });

  it("does not fail over a model whose limit is one attempt", async () => {
    const { a, b, s, owner, key } = await setup({
      models: [{ name: "sora-2", failover: { maxAttempts: 1 } }],
    });
    a.core.nextTask({ outcome: "fail", runMs: 200, failCode: "server_error", failMessage: "crash" });
    const id = await create(s, key);
    const done = await waitForTask(s, key, id);
    expect(done.status).toBe("failed");
    expect(routesSeen(b)).toEqual([]);
    expect(await attemptsInBothApis(s, key, id)).toHaveLength(1);
    expect(await balance(s, owner)).toBe(100);
  });
});
