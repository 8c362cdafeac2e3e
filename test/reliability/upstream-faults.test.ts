/**
 * The fault matrix: every fault the emulated upstream can script, at create, at poll and at
 * download. Each task still ends completed, the upstream made exactly one task for it (no
 * duplicate after a lost answer), and the owner was charged exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Fault, RunningEmulator } from "../emulators/common.js";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";

let emu: RunningEmulator;
let s: ChannelApp;
let key: string;
const owner = `faults-${Date.now()}`;
const PRICE = 10;

beforeAll(async () => {
  emu = await startUnifiedRelay({ secret: "fault-matrix-secret" });
  emu.core.defaultBehaviour = { runMs: 200 };
  s = await startWithChannels(
    {
      channels: [
        channel("up", "unified", emu.url, {
          timeouts: { connectMs: 1000, requestMs: 700, downloadMs: 5000 },
        }),
      ],
      pricing: { perSecond: { "sora-2": 1 } },
    },
    { env: secretEnv("up", "fault-matrix-secret") },
  );
  key = await s.newKey(owner);
  await s.request(`/admin/accounts/${owner}/credits`, { key: s.adminToken, body: { amount: 1000 } });
});
afterAll(async () => {
  await s?.close();
  await emu?.close();
});

const FAULTS: [string, Fault][] = [
  ["429 with Retry-After", { kind: "status", status: 429, retryAfterS: 1 }],
  ["500", { kind: "status", status: 500 }],
  ["a slow answer past the timeout", { kind: "slow", delayMs: 1200 }],
  ["a connection reset", { kind: "reset" }],
  ["malformed JSON", { kind: "malformed" }],
];
const DOWNLOAD_FAULTS: [string, Fault][] = [
  ["500", { kind: "status", status: 500 }],
  ["a connection reset", { kind: "reset" }],
  ["an HTML error page", { kind: "html" }],
];

const balance = async () =>
  ((await (await s.request(`/admin/accounts/${owner}`, { key: s.adminToken })).json()) as { balance: number })
    .balance;

async function survives(route: string, fault: Fault) {
  const before = await balance();
  const tasksBefore = emu.core.tasks.size;
  emu.core.fault(route, fault);
  const res = await s.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      prompt: `fault at ${route}`,
      orientation: "portrait",
      size: "small",
      duration: 10,
    },
  });
  expect(res.status).toBe(200);
  const { id } = (await res.json()) as { id: string };
  const done = await waitForTask(s, key, id, { timeoutMs: 60_000 });
  expect(done.status, JSON.stringify(done)).toBe("completed");
  expect(emu.core.tasks.size - tasksBefore).toBe(1);
  expect(before - (await balance())).toBe(PRICE);
}

describe.each(FAULTS)("create answered with %s", (_name, fault) => {
  it("completes once", () => survives("create", fault));
});
describe.each(FAULTS)("poll answered with %s", (_name, fault) => {
  it("completes once", () => survives("query", fault));
});
describe.each(DOWNLOAD_FAULTS)("download answered with %s", (_name, fault) => {
  it("completes once", () => survives("content", fault));
});
