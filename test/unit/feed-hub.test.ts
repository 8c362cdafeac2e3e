/**
 * The feed hub: one shared tail per process for every open stream (one query a tick, whatever the
 * number of streams), waking only the streams of tasks whose feed moved; this process's own
 * changes wake at once; per-key places; close wakes everyone.
 */
import { pino } from "pino";
import { expect, it } from "vitest";
import { createFeedHub } from "../../src/core/tasks/feed_hub.js";
import { waitUntil } from "../helpers/wait.js";

it("tails all streams with one query a tick and wakes only the streams whose task moved", async () => {
  const newest = new Map<string, number>();
  const asked: string[][] = [];
  const hub = createFeedHub({
    store: {
      latest: async (ids) => {
        asked.push([...ids]);
        return new Map([...newest].filter(([id]) => ids.includes(id)));
      },
    },
    tailMs: 20,
    logger: pino({ level: "silent" }),
  });
  const woken = new Map<string, number>();
  const stops: (() => void)[] = [];
  for (let t = 0; t < 10; t++)
    for (let s = 0; s < 100; s++)
      stops.push(hub.subscribe(`t${t}`, () => woken.set(`t${t}`, (woken.get(`t${t}`) ?? 0) + 1)));
  expect(hub.size).toBe(1000);
  await waitUntil(() => asked.length >= 2, { what: "two ticks", timeoutMs: 10_000 });
  // One query per tick for the 1,000 streams, naming each watched task once.
  expect(asked[0]?.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `t${i}`).sort());
  expect(woken.size).toBe(0);

  // Another process stored event 3 of t4: its 100 streams wake, once.
  newest.set("t4", 3);
  await waitUntil(() => woken.get("t4") === 100, { what: "t4's streams", timeoutMs: 10_000 });
  const ticks = asked.length;
  await waitUntil(() => asked.length >= ticks + 2, { what: "two more ticks", timeoutMs: 10_000 });
  expect([...woken]).toEqual([["t4", 100]]);
  // This process's own change wakes at once, and the tail does not wake for it again.
  hub.stored("t7", 1);
  expect(woken.get("t7")).toBe(100);
  newest.set("t7", 1);
  const after = asked.length;
  await waitUntil(() => asked.length >= after + 2, { what: "two more ticks", timeoutMs: 10_000 });
  expect(woken.get("t7")).toBe(100);

  for (const stop of stops) stop();
  expect(hub.size).toBe(0);
  const idle = asked.length;
  // With no stream open, the tail stops asking (one tick in flight at most).
  await new Promise((r) => setTimeout(r, 100));
  expect(asked.length).toBeLessThanOrEqual(idle + 1);
  hub.close();
});

it("counts places per key and wakes every stream on close", () => {
  const hub = createFeedHub({
    store: { latest: async () => new Map() },
    tailMs: null,
    logger: pino({ level: "silent" }),
  });
  const a1 = hub.admit("key_a", 2);
  const a2 = hub.admit("key_a", 2);
  expect(a1 && a2).toBeTruthy();
  expect(hub.admit("key_a", 2)).toBeNull();
  expect(hub.admit("key_b", 2)).not.toBeNull();
  a1?.();
  a1?.(); // given back once only
  expect(hub.admit("key_a", 2)).not.toBeNull();
  expect(hub.admit("key_a", 2)).toBeNull();
  let woke = 0;
  hub.subscribe("t", () => woke++);
  hub.close();
  expect(hub.closing).toBe(true);
  expect(woke).toBe(1);
});
