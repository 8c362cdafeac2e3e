/**
 * Two Reelays in a chain: the front one has the back one as its unified upstream. The back one
 * renders with the real local renderer; the front one re-hosts the result under its own links.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { ffprobe } from "../helpers/ffprobe.js";
import { pollUntil } from "../helpers/wait.js";

let back: TestApp;
let front: ChannelApp;
let backKey: string;
let dir: string;

beforeAll(async () => {
  back = await startTestApp();
  backKey = await back.newKey();
  front = await startWithChannels(
    { channels: [channel("back", "unified", back.url, { pollIntervalS: 0.2 })] },
    { env: secretEnv("back", backKey) },
  );
  dir = await mkdtemp(join(tmpdir(), "reelay-chain-"));
});
afterAll(async () => {
  await front?.close();
  await back?.close();
  await rm(dir, { recursive: true, force: true });
});

it("a task created on the front Reelay is made by the back one and served by the front one's links", async () => {
  const key = await front.newKey();
  const res = await front.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      prompt: "a chained relay",
      orientation: "landscape",
      size: "small",
      duration: 10,
      private: true,
    },
  });
  const { id } = (await res.json()) as { id: string };
  const done = await waitForTask(front, key, id);
  expect(done.status, JSON.stringify(done)).toBe("completed");
  expect(String(done.video_url).startsWith(front.url)).toBe(true);
  const file = join(dir, "chain.mp4");
  await writeFile(file, Buffer.from(await (await fetch(String(done.video_url))).arrayBuffer()));
  const info = await ffprobe(file);
  expect(info.streams.find((s) => s.codecType === "video")).toMatchObject({
    codecName: "h264",
    width: 1280,
    height: 720,
  });
  expect(Math.round(info.durationS)).toBe(10);

  // The back Reelay holds the task under the front one's key, with the same fields.
  const admin = (await (await front.request("/admin/tasks?limit=5", { key: front.adminToken })).json()) as {
    data: { id: string; upstream_id: string }[];
  };
  const upstreamId = admin.data.find((t) => t.id === id)?.upstream_id ?? "";
  const there = (await (
    await back.request(`/v1/video/query?id=${encodeURIComponent(upstreamId)}`, { key: backKey })
  ).json()) as Record<string, unknown>;
  expect(there).toMatchObject({
    status: "completed",
    detail: { input: { prompt: "a chained relay", private: true } },
  });
});

it("a cancel on the front Reelay cancels the task on the back one", async () => {
  const key = await front.newKey();
  const res = await front.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2-pro",
      prompt: "cancel down the chain",
      orientation: "portrait",
      size: "large",
      duration: 25,
    },
  });
  const { id } = (await res.json()) as { id: string };
  const upstreamId = await pollUntil(
    async () => {
      const admin = (await (
        await front.request("/admin/tasks?limit=5", { key: front.adminToken })
      ).json()) as {
        data: { id: string; upstream_id: string | null }[];
      };
      return admin.data.find((t) => t.id === id)?.upstream_id ?? "";
    },
    (upstream) => upstream !== "",
    { what: `task ${id} submitted upstream`, timeoutMs: 5000, intervalMs: 50 },
  );
  expect(upstreamId).not.toBe("");
  expect(
    (await front.request(`/v1/video/cancel?id=${encodeURIComponent(id)}`, { key, method: "POST" })).status,
  ).toBe(200);
  const backStatus = await pollUntil(
    async () => {
      const q = (await (
        await back.request(`/v1/video/query?id=${encodeURIComponent(upstreamId)}`, { key: backKey })
      ).json()) as { status: string };
      return q.status;
    },
    (status) => status === "cancelled",
    { what: `upstream task ${upstreamId} cancelled`, timeoutMs: 10_000 },
  );
  expect(backStatus).toBe("cancelled");
});
