/**
 * A channel removed from the config while one of its tasks runs there: after the restart the
 * task must not be left `processing` for ever (no process follows it when no upstream channel is
 * left). Its record names the channel and the upstream id, but the base URL and the credential
 * were the config's, so it cannot be polled: it fails with an error naming the channel, refunded.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { waitFor } from "../helpers/wait.js";

const PRICE = 5;
const pricing = { perTask: [{ model: "sora-2", credits: PRICE }] };
const closing: { close(): Promise<unknown> }[] = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c.close();
});

it("a task pinned to a channel removed from the config fails naming the channel, refunded", async () => {
  const relay = await startUnifiedRelay({ secret: "secret-gone-0123456789" });
  closing.push(relay);
  // The upstream keeps it running for longer than this test.
  relay.core.defaultBehaviour = { runMs: 600_000, outcome: "complete" };
  const dataDir = await mkdtemp(join(tmpdir(), "reelay-removed-channel-"));
  closing.push({ close: () => rm(dataDir, { recursive: true, force: true }) });

  let app: ChannelApp | undefined = await startWithChannels(
    { channels: [channel("gone", "unified", relay.url)], pricing },
    { dataDir, env: secretEnv("gone", "secret-gone-0123456789") },
  );
  const admin = (path: string, body?: unknown) =>
    app?.request(path, { key: app.adminToken, ...(body === undefined ? {} : { body }) }) as Promise<Response>;
  try {
    const key = await app.newKey("owner");
    expect((await admin("/admin/accounts/owner/credits", { amount: 100 })).status).toBe(200);
    const res = await app.request("/v1/video/create", {
      key,
      body: { model: "sora-2", prompt: "far away", orientation: "portrait", size: "small", duration: 10 },
    });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    // Wait (bounded) until the channel took it and it is followed there.
    await waitFor(
      async () => {
        const list = (await (await admin("/admin/tasks?limit=5")).json()) as {
          data: { id: string; channel: string | null; upstream_id: string | null }[];
        };
        return list.data.find((t) => t.id === id);
      },
      (row) => row?.channel === "gone" && Boolean(row.upstream_id),
      { what: `task ${id} submitted to channel 'gone'` },
    );
    expect((await (await admin("/admin/accounts/owner")).json()) as object).toMatchObject({
      balance: 100 - PRICE,
    });
    await app.close();

    // The same data, the channel gone from the config (only the local renderer left).
    app = await startWithChannels({ channels: [{ id: "here", kind: "local" }], pricing }, { dataDir });
    const done = await waitForTask(app, key, id, { timeoutMs: 30_000 });
    expect(done.status).toBe("failed");
    const error = done.error as { code: string; message: string };
    expect(error.code).toBe("upstream_failed");
    expect(error.message).toContain("'gone'");
    expect(error.message).toContain("no longer configured");
    expect((await (await admin("/admin/accounts/owner")).json()) as object).toMatchObject({ balance: 100 });
  } finally {
    await app?.close();
  }
}, 120_000);
