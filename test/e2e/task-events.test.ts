/**
 * Live progress over Server-Sent Events, against the running app with the real local renderer:
 * a task's stream shows every change from pending to completed with its links, a client that
 * hangs up and comes back with Last-Event-ID gets exactly the rest, and a key sees only its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROGRESS_STEP } from "../../src/core/tasks/feed.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { FakeProvider } from "../helpers/fake-provider.js";
import { readSse, seqsOf } from "../helpers/sse.js";
import { waitUntil } from "../helpers/wait.js";

let app: TestApp;
let key: string;

beforeAll(async () => {
  app = await startTestApp();
  key = await app.newKey("owner_events");
});
afterAll(async () => {
  await app?.close();
});

async function create(body: Record<string, unknown> = {}): Promise<string> {
  const res = await app.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      prompt: "a lighthouse at dusk",
      orientation: "landscape",
      size: "small",
      duration: 10,
      ...body,
    },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

const unifiedUrl = (id: string, q = "") => `${app.url}/v1/video/events?id=${encodeURIComponent(id)}${q}`;
const openAiUrl = (id: string, q = "") => `${app.url}/v1/videos/${encodeURIComponent(id)}/events${q}`;

/** Seqs run 1, 2, 3… with no gap and no repeat. */
const expectContinuous = (seqs: number[], from = 1) =>
  expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => from + i));

describe("a task's event stream", () => {
  it("shows pending → processing → progress → completed, with the final links, and ends", async () => {
    const id = await create();
    const r = await readSse(unifiedUrl(id), { key });
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/event-stream/);
    expect(r.ended).toBe(true);
    const types = r.events.map((e) => e.event);
    expect(types[0]).toBe("video.pending");
    expect(types).toContain("video.processing");
    expect(types).toContain("video.progress");
    expect(types.at(-1)).toBe("video.completed");
    expect(types.indexOf("video.processing")).toBeLessThan(types.indexOf("video.progress"));
    expectContinuous(seqsOf(r.events));

    const views = r.events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(views.every((v) => v.id === id)).toBe(true);
    // Progress only grows within the attempt, by the coalescing rule's steps or more.
    const progress = r.events
      .filter((e) => e.event === "video.progress")
      .map((e) => (JSON.parse(e.data) as { progress: number }).progress);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(progress.length).toBeLessThanOrEqual(100 / PROGRESS_STEP + 60);
    const last = views.at(-1) as { status: string; video_url: string | null; progress: number };
    expect(last).toMatchObject({ status: "completed", progress: 100 });
    expect(last.video_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\//);
    // The stream's last event is what the query shows.
    const queried = await waitForTask(app, key, id);
    expect(queried.video_url).toBeTruthy();
  });

  it("resumes after Last-Event-ID with exactly the rest: no gap, no repeat", async () => {
    const id = await create();
    const first = await readSse(openAiUrl(id), { key, stopAfter: 2 });
    expect(first.ended).toBe(false);
    expectContinuous(seqsOf(first.events));
    const lastId = String(first.events.at(-1)?.id);
    const rest = await readSse(openAiUrl(id), { key, headers: { "last-event-id": lastId } });
    expect(rest.ended).toBe(true);
    expectContinuous(seqsOf(rest.events), Number(lastId) + 1);
    expect(rest.events.at(-1)?.event).toBe("video.completed");
    // The OpenAI view in `data`.
    expect(JSON.parse(String(rest.events.at(-1)?.data))).toMatchObject({
      id,
      object: "video",
      status: "completed",
    });

    // The whole feed read again equals the two parts joined; the query parameter resumes the same way.
    const whole = await readSse(openAiUrl(id), { key });
    expect([...first.events, ...rest.events].map((e) => [e.id, e.event])).toEqual(
      whole.events.map((e) => [e.id, e.event]),
    );
    const byQuery = await readSse(openAiUrl(id, `?last_event_id=${lastId}`), { key });
    expect(seqsOf(byQuery.events)).toEqual(seqsOf(rest.events));
    // The header wins over the query parameter (an EventSource resumes on a URL that still has it).
    const both = await readSse(openAiUrl(id, "?last_event_id=0"), {
      key,
      headers: { "last-event-id": lastId },
    });
    expect(seqsOf(both.events)).toEqual(seqsOf(rest.events));
  });

  it("ends at once for a client that already has the final event", async () => {
    const id = await create();
    const all = await readSse(unifiedUrl(id), { key });
    const after = await readSse(unifiedUrl(id), {
      key,
      headers: { "last-event-id": String(all.events.at(-1)?.id) },
    });
    expect(after).toMatchObject({ status: 200, ended: true, events: [] });
  });

  it("is 404 for a task of another owner, on both routes, and for a task that does not exist", async () => {
    const id = await create();
    const other = await app.newKey("owner_other");
    for (const url of [unifiedUrl(id), openAiUrl(id)]) {
      const r = await readSse(url, { key: other });
      expect(r.status).toBe(404);
      expect(JSON.parse(String(r.body))).toMatchObject({ error: { code: "task_not_found" } });
    }
    expect((await readSse(openAiUrl("sora-2:task_01k9009g8ef1esae6388chgcpx"), { key })).status).toBe(404);
  });

  it("refuses a Last-Event-ID that is not an event id, naming the field", async () => {
    const id = await create();
    const bad = await readSse(unifiedUrl(id), { key, headers: { "last-event-id": "abc" } });
    expect(bad.status).toBe(400);
    expect(JSON.parse(String(bad.body))).toMatchObject({ error: { param: "Last-Event-ID" } });
    const badQuery = await readSse(openAiUrl(id, "?last_event_id=-1"), { key });
    expect(badQuery.status).toBe(400);
    expect(JSON.parse(String(badQuery.body))).toMatchObject({ error: { param: "last_event_id" } });
    const unknown = await readSse(unifiedUrl(id, "&since=3"), { key });
    expect(JSON.parse(String(unknown.body))).toMatchObject({ error: { param: "since" } });
  });

  it("a deleted task's feed goes with it", async () => {
    const id = await create();
    await waitForTask(app, key, id);
    expect(
      (await app.request(`/v1/videos/${encodeURIComponent(id)}`, { key, method: "DELETE" })).status,
    ).toBe(200);
    const left = await app.container.services.events.store.after(id, 0, 10);
    expect(left).toEqual([]);
  });
});

describe("streams held open", () => {
  let held: TestApp;
  let heldKey: string;
  const provider = new FakeProvider([], "hang");
  beforeAll(async () => {
    held = await startTestApp({
      env: { REELAY_EVENTS_MAX_STREAMS_PER_KEY: "2", REELAY_EVENTS_HEARTBEAT_S: "1" },
      overrides: { provider },
    });
    heldKey = await held.newKey("owner_held");
  });
  afterAll(async () => {
    await held?.close();
  });

  it("get heartbeats, are limited per key (429 beyond), free their place on disconnect, and end with the task", async () => {
    const res = await held.request("/v1/videos", { key: heldKey, body: { prompt: "a render that waits" } });
    const { id } = (await res.json()) as { id: string };
    // The fake render reports 50 % and waits.
    await waitUntil(
      async () => (await held.container.services.events.store.last(id))?.type === "video.progress",
      {
        timeoutMs: 30_000,
        what: "the render's progress",
      },
    );
    const url = `${held.url}/v1/videos/${encodeURIComponent(id)}/events`;
    // A quiet stream gets comments so that proxies keep it open.
    const quiet = await readSse(url, { key: heldKey, until: (r) => r.comments.includes("keep-alive") });
    expect(quiet.events.map((e) => e.event)).toEqual(["video.pending", "video.processing", "video.progress"]);
    await waitUntil(() => held.container.services.events.hub.size === 0, {
      timeoutMs: 10_000,
      what: "the hung-up stream to be let go",
    });

    // Two streams held open (each until its first event), a third is refused.
    const hold = new AbortController();
    const open = () =>
      fetch(url, { headers: { authorization: `Bearer ${heldKey}` }, signal: hold.signal }).then(async (r) => {
        const reader = r.body?.getReader();
        await reader?.read();
        return r;
      });
    const [a, b] = await Promise.all([open(), open()]);
    expect([a.status, b.status]).toEqual([200, 200]);
    const third = await held.request(`/v1/videos/${encodeURIComponent(id)}/events`, { key: heldKey });
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: "too_many_streams" } });
    // Another key has places of its own.
    const otherKey = await held.newKey("owner_held");
    const other = await readSse(url, { key: otherKey, stopAfter: 1 });
    expect(other.status).toBe(200);
    hold.abort();
    await waitUntil(() => held.container.services.events.hub.size === 0, {
      timeoutMs: 10_000,
      what: "the places to be given back",
    });

    // A live stream sees the cancel and ends with it.
    const live = readSse(url, { key: heldKey, headers: { "last-event-id": "3" } });
    await waitUntil(() => held.container.services.events.hub.size === 1, {
      timeoutMs: 10_000,
      what: "the stream",
    });
    expect(
      (await held.request(`/v1/videos/${encodeURIComponent(id)}/cancel`, { key: heldKey, method: "POST" }))
        .status,
    ).toBe(200);
    const ended = await live;
    expect(ended.ended).toBe(true);
    expect(ended.events.map((e) => [e.id, e.event])).toEqual([["4", "video.cancelled"]]);
  });
});

describe("a task made by an upstream channel", () => {
  it("streams the upstream's progress as mirrored by the poller, then the re-hosted result", async () => {
    const relay = await startUnifiedRelay({ secret: "secret-u-0123456789" });
    relay.core.defaultBehaviour = { runMs: 3000, outcome: "complete" };
    const front = await startWithChannels(
      { channels: [channel("u", "unified", relay.url)] },
      { env: secretEnv("u", "secret-u-0123456789") },
    );
    try {
      const k = await front.newKey("owner_upstream");
      const res = await front.request("/v1/video/create", {
        key: k,
        body: {
          model: "sora-2",
          prompt: "from upstream",
          orientation: "portrait",
          size: "small",
          duration: 10,
        },
      });
      const { id } = (await res.json()) as { id: string };
      const r = await readSse(`${front.url}/v1/video/events?id=${encodeURIComponent(id)}`, { key: k });
      expect(r.ended).toBe(true);
      expectContinuous(seqsOf(r.events));
      const types = r.events.map((e) => e.event);
      expect(types[0]).toBe("video.pending");
      expect(types).toContain("video.progress");
      expect(types.at(-1)).toBe("video.completed");
      const progress = r.events
        .filter((e) => e.event === "video.progress")
        .map((e) => (JSON.parse(e.data) as { progress: number }).progress);
      // The upstream's figures of a running task, as the poller mirrored them.
      expect(progress.every((p) => p > 0 && p < 100)).toBe(true);
      const last = JSON.parse(String(r.events.at(-1)?.data)) as { video_url: string };
      expect(last.video_url.startsWith(front.url)).toBe(true);
      expect((await fetch(last.video_url)).status).toBe(200);
    } finally {
      await front.close();
      await relay.close();
    }
  });
});
