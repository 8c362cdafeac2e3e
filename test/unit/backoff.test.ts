import { expect, it } from "vitest";
import { delayMs, nominalDelayMs, SHORTENING_JITTER } from "../../src/core/jobs/backoff.js";
import { pollRetries, pollRetryDelayMs } from "../../src/core/upstream/poller_result.js";
import { deliveryRetries } from "../../src/core/webhooks/delivery.js";

const exact = () => 1;

it("doubles from the base per retry up to the cap, and stops doubling after maxDoublings", () => {
  const p = { baseMs: 100, maxMs: 10_000, jitter: SHORTENING_JITTER };
  expect([1, 2, 3, 4].map((n) => nominalDelayMs(p, n))).toEqual([100, 200, 400, 800]);
  expect(nominalDelayMs(p, 30)).toBe(10_000);
  expect(nominalDelayMs({ ...p, maxMs: 1e12, maxDoublings: 2 }, 10)).toBe(400);
});

it("draws the wait from the jitter band, with Retry-After as a floor", () => {
  const p = { baseMs: 1000, maxMs: 60_000, jitter: [0.8, 1.2] as const };
  expect(delayMs(p, 1, { random: () => 0 })).toBe(800);
  expect(delayMs(p, 1, { random: exact })).toBe(1200);
  expect(delayMs(p, 1, { random: () => 0, retryAfterS: 5 })).toBe(5000);
});

it("follows an operator's schedule where the loop has one (webhook deliveries)", () => {
  const p = deliveryRetries([1000, 60_000, 600_000]);
  expect([1, 2, 3].map((n) => delayMs(p, n, { random: () => 0.5 }))).toEqual([1000, 60_000, 600_000]);
});

it("backs polls off from the channel's interval, after errors in a row, up to maxBackoffMs", () => {
  expect(pollRetryDelayMs(1000, 60_000, 1, null) <= 2000).toBe(true);
  expect(delayMs(pollRetries(1000, 60_000), 1 + 1, { random: exact })).toBe(2000);
  expect(delayMs(pollRetries(1000, 60_000), 3 + 1, { random: exact })).toBe(8000);
  expect(delayMs(pollRetries(1000, 60_000), 50, { random: exact })).toBe(60_000);
  expect(pollRetryDelayMs(1000, 60_000, 1, 30)).toBe(30_000);
});
