/**
 * Live progress in scale-out mode, as deployed: one API process and one worker process on one
 * PostgreSQL database. The worker changes the task; the API process, which never runs it, streams
 * every change from the shared feed (its tail), and a client that hangs up and resumes with
 * Last-Event-ID on the API gets exactly the rest.
 */
import { expect, it } from "vitest";
import { mintKey } from "../helpers/process.js";
import { scaleOutEnv, scaleOutFixture } from "../helpers/scale-out.js";
import { readSse, seqsOf } from "../helpers/sse.js";

const ADMIN = "events-scale-admin-token-0123456789";
const fixture = scaleOutFixture("reelay-events-scale-");
const { servers } = fixture;

it("a task made by a worker process streams from an API process, resumable, with no gap or repeat", async () => {
  const { database, dir } = fixture.get();
  const env = await scaleOutEnv({
    database,
    dir,
    name: "data",
    adminToken: ADMIN,
    signingSecret: "events-scale-signing-secret-0123456789abcdef",
    config: { models: [{ name: "tiny", family: "sora-2", sizes: ["small"], durations: [4], maxImages: 0 }] },
    extra: { REELAY_EVENTS_TAIL_MS: "100" },
  });
  const [api, worker] = await Promise.all([servers.start(env, "serve"), servers.start(env, "worker")]);
  expect(worker.url).not.toBe(api.url);
  const key = await mintKey(api, ADMIN);
  const create = await fetch(`${api.url}/v1/video/create`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({
      model: "tiny",
      prompt: "streamed across processes",
      orientation: "landscape",
      size: "small",
      duration: 4,
    }),
  });
  expect(create.status).toBe(200);
  const { id } = (await create.json()) as { id: string };
  const url = `${api.url}/v1/video/events?id=${encodeURIComponent(id)}`;

  // Two events, then hang up; come back with Last-Event-ID for the rest, live from the worker's changes.
  const first = await readSse(url, { key, stopAfter: 2 });
  expect(seqsOf(first.events)).toEqual([1, 2]);
  expect(first.events[0]?.event).toBe("video.pending");
  const rest = await readSse(url, { key, headers: { "last-event-id": "2" } });
  expect(rest.ended).toBe(true);
  const all = [...first.events, ...rest.events];
  expect(seqsOf(all)).toEqual(all.map((_, i) => i + 1));
  const types = all.map((e) => e.event);
  expect(types).toContain("video.processing");
  expect(types.at(-1)).toBe("video.completed");
  const done = JSON.parse(String(all.at(-1)?.data)) as { status: string; video_url: string | null };
  expect(done.status).toBe("completed");
  expect(done.video_url).toMatch(/^http/);
  // A reader from the start sees the same feed.
  const again = await readSse(url, { key });
  expect(again.events.map((e) => [e.id, e.event])).toEqual(all.map((e) => [e.id, e.event]));
});
