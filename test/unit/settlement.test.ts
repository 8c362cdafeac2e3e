/** The settlement rule (catalogue/settlement.ts) and the price breakdown a quote and a hold share. */
import { describe, expect, it } from "vitest";
import { type PriceTable, priceBreakdown, priceOf } from "../../src/core/catalogue/pricing.js";
import { settlementOf } from "../../src/core/catalogue/settlement.js";
import type { VideoRequest } from "../../src/core/tasks/task.js";
import { sampleTask } from "../contract/job-queue.contract.js";

const request = (over: Partial<VideoRequest> = {}): VideoRequest => ({
  ...sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx").request,
  model: "m",
  orientation: "landscape",
  width: 1920,
  height: 1080,
  duration: 10,
  ...over,
});
const catalogue = new Map([
  [
    "m",
    {
      price: { perSecond: { "1080p": 2.5 }, withAudio: { "1080p": 4 }, usdPerMillionTokens: 2 },
      accepts: { audio: "optional" } as never,
    },
  ],
]);
const table: PriceTable = { perTask: [], perSecond: {}, catalogue };

describe("price breakdown", () => {
  it("names its rule, seconds, resolution, sound and rate, and equals priceOf", () => {
    expect(priceBreakdown(table, request())).toEqual({
      credits: 25,
      rule: "catalogue",
      seconds: 10,
      resolution: "1080p",
      audio: false,
      rate: 2.5,
    });
    expect(priceBreakdown(table, request({ audio: true }))).toMatchObject({
      credits: 40,
      audio: true,
      rate: 4,
    });
    const perSecond = { ...table, perSecond: { m: 3 } };
    expect(priceBreakdown(perSecond, request())).toMatchObject({ credits: 30, rule: "per_second", rate: 3 });
    const perTask = { ...table, perTask: [{ model: "m", credits: 50 }] };
    expect(priceBreakdown(perTask, request(), 4)).toMatchObject({ credits: 20, rule: "per_task", rate: 50 });
    for (const t of [table, perSecond, perTask])
      for (const s of [1, 4, 10, 12])
        expect(priceOf(t, request(), s)).toBe(priceBreakdown(t, request(), s)?.credits);
    expect(priceBreakdown({ perTask: [], perSecond: {} }, request())).toBeNull();
  });
});

describe("settlement", () => {
  const r = request();
  it("bills the delivered seconds, at most the hold", () => {
    expect(settlementOf(table, r, 25, { durationS: 10.2 })).toEqual({
      charged: 25,
      billedSeconds: 10,
      basis: "delivered",
    });
    expect(settlementOf(table, r, 25, { durationS: 6 })).toMatchObject({ charged: 15, billedSeconds: 6 });
    // A longer video than asked costs what was held.
    expect(settlementOf(table, r, 25, { durationS: 14 })).toMatchObject({ charged: 25, billedSeconds: 14 });
  });

  it("bills the provider's reported seconds when fewer than delivered; ignores more, or none", () => {
    const fewer = settlementOf(table, r, 25, { durationS: 10, usage: { seconds: 4 } });
    expect(fewer).toEqual({ charged: 10, billedSeconds: 4, basis: "provider_seconds" });
    expect(settlementOf(table, r, 25, { durationS: 8, usage: { seconds: 12 } })).toMatchObject({
      charged: 20,
      basis: "delivered",
    });
    expect(settlementOf(table, r, 25, { durationS: 10, usage: { seconds: 0 } })).toMatchObject({
      charged: 25,
      basis: "delivered",
    });
  });

  it("prices reported tokens at the catalogue's US$ rate, for reference only", () => {
    const s = settlementOf(table, r, 25, { durationS: 10, usage: { tokens: 250_000 } });
    expect(s).toEqual({ charged: 25, billedSeconds: 10, basis: "delivered", providerCostUsd: 0.5 });
  });

  it("keeps the hold when the table no longer prices the model", () => {
    expect(settlementOf({ perTask: [], perSecond: {} }, r, 25, { durationS: 5 })).toMatchObject({
      charged: 25,
    });
  });

  it("an extension bills its new segment", () => {
    const ext = request({
      duration: 5,
      source: { kind: "extend", taskId: null, videoKey: "k", durationS: 10 },
    });
    expect(settlementOf(table, ext, 13, { durationS: 14 })).toMatchObject({ billedSeconds: 4, charged: 10 });
  });
});
