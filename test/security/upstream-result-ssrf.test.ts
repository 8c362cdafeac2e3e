/**
 * SSRF through an upstream's answers: a channel's own origin is the admin's choice (it may be a
 * private address), but the result links its answers point to are not. A link on another origin
 * passes the same guard as image links (fake DNS for non-loopback names; a tripwire on
 * net/tls.connect fails the test if a connection heads off loopback), the task fails clearly
 * naming the address, and the channel's credential never goes to another origin.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { startUnifiedRelay } from "../emulators/unified-relay.js";
import { waitForTask } from "../helpers/app.js";
import { type ChannelApp, channel, secretEnv, startWithChannels } from "../helpers/channels.js";
import { fakeDns, installTripwire, offLoopback } from "../helpers/tripwire.js";

const SECRET = "secret-a-0123456789";
const running: { close(): Promise<unknown> }[] = [];

beforeAll(() => {
  installTripwire();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((r) => r.close()));
});
afterAll(() => {
  vi.restoreAllMocks();
  expect(offLoopback).toEqual([]);
});

async function setUp(env: Record<string, string> = {}) {
  const relay = await startUnifiedRelay({ secret: SECRET });
  running.push(relay);
  const app: ChannelApp = await startWithChannels(
    { channels: [channel("a", "unified", relay.url)] },
    {
      env: { ...secretEnv("a", SECRET), ...env },
      overrides: {
        resolve: fakeDns({
          "metadata.internal": ["169.254.169.254"],
          "cdn.intranet.example": ["10.20.30.40"],
          localhost: ["127.0.0.1"],
        }),
      },
    },
  );
  running.push(app);
  return { relay, app, key: await app.newKey() };
}

async function createTask(app: ChannelApp, key: string): Promise<string> {
  const res = await app.request("/v1/video/create", {
    key,
    body: { model: "sora-2", prompt: "ssrf", orientation: "portrait", size: "small", duration: 10 },
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { id: string }).id;
}

describe("result links an upstream points to", () => {
  it.each([
    ["http://metadata.internal", "link-local"],
    ["http://cdn.intranet.example:8080", "private"],
    ["http://169.254.169.254", "link-local"],
  ])("a link on %s is refused: the task fails naming the %s address", async (origin, range) => {
    const { relay, app, key } = await setUp();
    relay.core.nextTask({ runMs: 200, resultOrigin: origin });
    const done = await waitForTask(app, key, await createTask(app, key));
    expect(done.status).toBe("failed");
    const error = done.error as { code: string; message: string };
    expect(error.code).toBe("upstream_bad_content");
    expect(error.message).toContain("refused");
    expect(error.message).toContain(range);
    // Nothing was fetched from the relay's file route either.
    expect(relay.core.requests.filter((r) => r.route === "content")).toEqual([]);
  });

  it("a redirect from the channel's own origin to a private address is refused at that hop", async () => {
    const { relay, app, key } = await setUp();
    relay.core.nextTask({ runMs: 200 });
    // The result link is on the channel's origin; its download answers 302 to the metadata service.
    relay.core.fault(
      "content",
      { kind: "redirect", location: "http://metadata.internal/latest/meta-data" },
      10,
    );
    const done = await waitForTask(app, key, await createTask(app, key));
    expect(done.status).toBe("failed");
    const error = done.error as { code: string; message: string };
    expect(error.code).toBe("upstream_bad_content");
    expect(error.message).toContain("refused");
    expect(error.message).toContain("link-local");
    expect(relay.core.requests.filter((r) => r.route === "content").length).toBeGreaterThan(0);
  });

  it("a loopback link on another origin is refused unless REELAY_ALLOW_HOSTS lists it; then it is fetched without the channel's key", async () => {
    const refused = await setUp();
    const port = new URL(refused.relay.url).port;
    refused.relay.core.nextTask({ runMs: 200, resultOrigin: `http://localhost:${port}` });
    const failed = await waitForTask(refused.app, refused.key, await createTask(refused.app, refused.key));
    expect(failed.status).toBe("failed");
    expect((failed.error as { message: string }).message).toContain("loopback");

    const allowed = await setUp({ REELAY_ALLOW_HOSTS: "localhost" });
    const other = new URL(allowed.relay.url).port;
    allowed.relay.core.nextTask({ runMs: 200, resultOrigin: `http://localhost:${other}` });
    const done = await waitForTask(allowed.app, allowed.key, await createTask(allowed.app, allowed.key));
    expect(done.status).toBe("completed");
    const downloads = allowed.relay.core.requests.filter(
      (r) => r.route === "content" || r.route === "thumbnail",
    );
    expect(downloads.length).toBeGreaterThan(0);
    for (const d of downloads) expect(d.auth).toBeNull();
    // Polls on the channel's own origin do carry it.
    const polls = allowed.relay.core.requests.filter((r) => r.route === "query");
    expect(polls.every((r) => r.auth === `Bearer ${SECRET}`)).toBe(true);
  });
});
