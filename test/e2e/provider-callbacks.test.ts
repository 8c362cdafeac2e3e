/**
 * Provider callbacks, for every kind that pushes them (Kling, Seedance, MiniMax, fal, Replicate),
 * against the emulators, which post them as each provider documents (fal signed with ED25519 and
 * a JWKS, Replicate per Standard Webhooks, MiniMax after its challenge):
 * - with callbacks on and a poll interval far longer than the test waits, a task completes on the
 *   provider's callback (the callback makes Reelay poll at once);
 * - a forged callback (wrong token; for fal and Replicate a missing, bad or stale signature) is
 *   refused and makes no poll; an unsigned provider's callback with the right token only makes a
 *   poll, so a lie about a running task changes nothing;
 * - a replayed callback after completion changes nothing, and callbacks and fast polling together
 *   complete a task once (one download, one completion);
 * - MiniMax's challenge is echoed; a channel without callbacks has no callback route.
 */
import { describe, expect, it } from "vitest";
import type { EmulatorCore, RunningEmulator } from "../emulators/common.js";
import { signFalWebhook, startFal } from "../emulators/fal.js";
import { startKling } from "../emulators/kling.js";
import { startMiniMax } from "../emulators/minimax.js";
import { signReplicateWebhook, startReplicate } from "../emulators/replicate.js";
import { startSeedance } from "../emulators/seedance.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { closedAfterEach } from "../helpers/provider-e2e.js";
import { pollUntil, sleep } from "../helpers/wait.js";

const SECRET = "callback-test-secret-0123456789";
const running = closedAfterEach();

interface KindCase {
  readonly kind: "kling" | "seedance" | "minimax" | "fal" | "replicate";
  readonly model: string;
  readonly duration: number;
  /** The emulator's route name for result downloads. */
  readonly download: string;
  /** Whether the provider signs its callbacks (then a right token alone is not enough). */
  readonly signed: boolean;
  start(): Promise<RunningEmulator & { cdnHost?: string }>;
  /** Channel fields besides the common ones (fal: where its webhook keys are). */
  extra?(e: RunningEmulator): Record<string, unknown>;
  /** Signs `body` as the provider would at `at` (signed kinds). */
  sign?(e: RunningEmulator, taskId: string, body: string, at: Date): Record<string, string>;
}

const CASES: KindCase[] = [
  {
    kind: "kling",
    model: "kling-v2.1-master",
    duration: 5,
    download: "content",
    signed: false,
    start: () => startKling({ secret: SECRET }),
  },
  {
    kind: "seedance",
    model: "seedance-1.0-pro",
    duration: 5,
    download: "content",
    signed: false,
    start: () => startSeedance({ secret: SECRET }),
  },
  {
    kind: "minimax",
    model: "hailuo-02",
    duration: 6,
    download: "download",
    signed: false,
    start: () => startMiniMax({ secret: SECRET }),
  },
  {
    kind: "fal",
    model: "fal-wan-2.5",
    duration: 5,
    download: "download",
    signed: true,
    start: () => startFal({ secret: SECRET }),
    extra: (e) => ({ callbackKeysUrl: `${e.url}/.well-known/jwks.json` }),
    sign: (e, taskId, body, at) =>
      signFalWebhook(
        (e as Awaited<ReturnType<typeof startFal>>).webhookKey,
        taskId,
        body,
        at.getTime() / 1000,
      ),
  },
  {
    kind: "replicate",
    model: "replicate-hailuo-02",
    duration: 6,
    download: "download",
    signed: true,
    start: () => startReplicate({ secret: SECRET }),
    sign: (e, _taskId, body, at) =>
      signReplicateWebhook((e as Awaited<ReturnType<typeof startReplicate>>).webhookSecret, body, at),
  },
];

async function setUp(c: KindCase, opts: { pollIntervalS: number; runMs: number; callbacks?: boolean }) {
  const e = await c.start();
  e.core.defaultBehaviour = { runMs: opts.runMs, outcome: "complete" };
  running.push(e);
  const s = await startWithChannels(
    {
      channels: [
        channel("up", c.kind, e.url, {
          models: [c.model],
          pollIntervalS: opts.pollIntervalS,
          callbacks: opts.callbacks ?? true,
          ...(c.extra?.(e) ?? {}),
        }),
        { id: "local", kind: "local" },
      ],
    },
    {
      env: {
        ...secretEnv("up", SECRET),
        ...(e.cdnHost ? { REELAY_IMAGE_ALLOW_HOSTS: e.cdnHost } : {}),
      },
    },
  );
  running.push(s);
  return { e, s, key: await s.newKey() };
}

async function create(s: ChannelApp, key: string, c: KindCase): Promise<string> {
  const res = await s.request("/v1/video/create", {
    key,
    body: {
      model: c.model,
      prompt: "a lighthouse at dusk",
      orientation: "landscape",
      size: "large",
      duration: c.duration,
    },
  });
  const json = (await res.json()) as { id: string };
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.id;
}

/** The emulator's one task, once the create reached it. */
async function upstreamTask(core: EmulatorCore) {
  const tasks = await pollUntil(
    () => [...core.tasks.values()],
    (t) => t.length === 1 && core.callbackUrls.has(t[0]?.id ?? ""),
    { what: "the upstream task and its callback URL", timeoutMs: 20_000 },
  );
  const t = tasks[0];
  if (!t) throw new Error("no upstream task");
  return { task: t, url: core.callbackUrls.get(t.id) as string };
}

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });

const withToken = (url: string, token: string) => {
  const u = new URL(url);
  u.searchParams.set("token", token);
  return u.toString();
};

describe.each(CASES)("callbacks: $kind", (c) => {
  it("completes on the provider's callback, long before the next poll; a replay changes nothing", async () => {
    // Polled every 10 minutes: only the callback can make this task complete within the wait.
    const { e, s, key } = await setUp(c, { pollIntervalS: 600, runMs: 500 });
    const id = await create(s, key, c);
    const done = await waitForTask(s, key, id, { timeoutMs: 20_000 });
    expect(done.status, JSON.stringify(done)).toBe("completed");
    const ends = e.core.callbacks.filter((cb) => cb.status === 200 && cb.body.length > 0);
    expect(ends.length).toBeGreaterThan(0);
    expect(ends.some((cb) => JSON.parse(cb.answer).polled === true)).toBe(true);
    expect(e.core.requests.filter((r) => r.route === c.download)).toHaveLength(1);

    // The same callback again (a provider's retry, or a replay): acknowledged, nothing else.
    const last = ends.at(-1);
    if (!last) throw new Error("no callback");
    const again = await post(last.url, last.body, last.headers);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, polled: false });
    await sleep(300);
    expect(e.core.requests.filter((r) => r.route === c.download)).toHaveLength(1);
    expect(await s.query(key, id)).toMatchObject({ status: "completed" });
  });

  it("refuses forged callbacks; a right token only ever makes a poll", async () => {
    const { e, s, key } = await setUp(c, { pollIntervalS: 600, runMs: 500 });
    e.core.nextTask({ outcome: "never" });
    const id = await create(s, key, c);
    const { task, url } = await upstreamTask(e.core);
    // Once Reelay recorded the upstream's acceptance (the admin view shows the upstream id).
    await pollUntil(
      async () => {
        const res = await s.request("/admin/tasks", { key: s.adminToken });
        const list = (await res.json()) as { data: { id: string; upstream_id: string | null }[] };
        return list.data.find((t) => t.id === id)?.upstream_id ?? null;
      },
      (u) => u !== null,
      { what: "the task accepted upstream", timeoutMs: 20_000 },
    );
    const before = (await s.query(key, id)).status;
    const lie = JSON.stringify({ id: task.id, task_id: task.id, request_id: task.id, status: "succeeded" });

    // Replicate's own "start" webhook makes a poll of its own: let it pass first.
    const starts = c.kind === "replicate" ? 1 : 0;
    await pollUntil(
      () => e.core.callbacks.filter((cb) => cb.taskId === task.id).length,
      (n) => n >= starts,
      { what: "the provider's start webhook", timeoutMs: 10_000 },
    );
    await sleep(300);
    // A token for another task (or none): refused, no poll.
    const polls = task.polls;
    for (const bad of [withToken(url, "AAAA"), url.replace(/\?.*$/, "")]) {
      const res = await post(bad, lie);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("callback_refused");
    }
    if (c.signed && c.sign) {
      // The right token without the provider's signature, with a wrong one, or a stale one.
      const stale = c.sign(e, task.id, lie, new Date(Date.now() - 10 * 60_000));
      const other = c.sign(e, task.id, `${lie} `, new Date());
      for (const headers of [{}, stale, other]) {
        const res = await post(url, lie, headers);
        expect(res.status).toBe(401);
      }
      await sleep(300);
      expect(task.polls).toBe(polls);
    } else {
      // Unsigned providers: the token is the check, and the callback only makes a poll, which
      // finds the task still running.
      const res = await post(url, lie);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true, polled: true });
      await pollUntil(
        () => task.polls,
        (n) => n > polls,
        { what: "a poll after the callback", timeoutMs: 10_000 },
      );
    }
    await sleep(300);
    // Still what the provider says (queued or running): the lie completed nothing.
    expect(["pending", "processing"]).toContain(before);
    expect(["pending", "processing"]).toContain((await s.query(key, id)).status);
  });
});

describe("callbacks: beside polling, and where they are off", () => {
  it("a task both polled fast and called back completes once", async () => {
    const c = CASES[0] as KindCase;
    const { e, s, key } = await setUp(c, { pollIntervalS: 0.05, runMs: 600 });
    const ids = await Promise.all([1, 2, 3].map(() => create(s, key, c)));
    for (const id of ids)
      expect((await waitForTask(s, key, id, { timeoutMs: 20_000 })).status).toBe("completed");
    await pollUntil(
      () => e.core.callbacks.length,
      (n) => n >= 3,
      { what: "3 callbacks", timeoutMs: 10_000 },
    );
    expect(e.core.requests.filter((r) => r.route === c.download)).toHaveLength(3);
  });

  it("MiniMax's challenge is echoed, with the right token only", async () => {
    const c = CASES.find((k) => k.kind === "minimax") as KindCase;
    const { e, s, key } = await setUp(c, { pollIntervalS: 600, runMs: 400 });
    const id = await create(s, key, c);
    expect((await waitForTask(s, key, id, { timeoutMs: 20_000 })).status).toBe("completed");
    // The emulator checked the URL with a challenge before it took the create.
    const challenge = e.core.callbacks[0];
    expect(challenge?.status).toBe(200);
    const url = e.core.callbackUrls.values().next().value as string;
    const res = await post(url, JSON.stringify({ challenge: "abc-123" }));
    expect(await res.json()).toEqual({ challenge: "abc-123" });
    expect((await post(withToken(url, "AAAA"), JSON.stringify({ challenge: "abc-123" }))).status).toBe(401);
  });

  it("garbage with the right token is refused or acknowledged, never a crash", async () => {
    for (const c of [CASES[0], CASES[3]] as KindCase[]) {
      const { e, s, key } = await setUp(c, { pollIntervalS: 600, runMs: 400 });
      e.core.nextTask({ outcome: "never" });
      await create(s, key, c);
      const { url } = await upstreamTask(e.core);
      const bodies = [
        "",
        "not json",
        "[1,2]",
        "null",
        '{"task_id": {"$gt": ""}}',
        "\u0000".repeat(64),
        "{".repeat(5000),
      ];
      const headers: Record<string, string>[] = [
        {},
        { "content-type": "application/octet-stream" },
        { "x-fal-webhook-timestamp": "99999999999999", "x-fal-webhook-signature": "zz" },
        { "webhook-id": "x", "webhook-timestamp": "-1", "webhook-signature": "v1,AAAA" },
      ];
      for (const body of bodies)
        for (const h of headers) {
          const res = await post(url, body, h);
          expect([200, 401], `${c.kind} ${JSON.stringify(body.slice(0, 20))} ${JSON.stringify(h)}`).toContain(
            res.status,
          );
        }
      const big = await post(url, JSON.stringify({ pad: "x".repeat(2 * 1024 * 1024) }));
      expect(big.status).toBe(413);
      expect((await s.request("/healthz")).status).toBe(200);
    }
  });

  it("no callback route for a channel without callbacks, or an unknown one", async () => {
    const c = CASES[1] as KindCase;
    const { e, s, key } = await setUp(c, { pollIntervalS: 0.1, runMs: 300, callbacks: false });
    const id = await create(s, key, c);
    expect((await waitForTask(s, key, id, { timeoutMs: 20_000 })).status).toBe("completed");
    // Nothing was handed to the provider.
    expect(e.core.callbackUrls.size).toBe(0);
    for (const ch of ["up", "nope"]) {
      const res = await s.request(`/v1/callbacks/${ch}/${encodeURIComponent(id)}?token=x`, { body: {} });
      expect(res.status).toBe(404);
    }
  });
});
