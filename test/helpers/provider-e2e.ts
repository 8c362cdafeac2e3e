/** What the provider e2e tests share: closing what a test started, and the admin view of channels. */
import { afterEach } from "vitest";
import type { ChannelApp } from "./channels.js";

/** A list whose entries (apps, emulators) are closed after each test, last started first. */
export function closedAfterEach(): { close(): Promise<unknown> }[] {
  const running: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    await Promise.all(
      running
        .splice(0)
        .reverse()
        .map((r) => r.close()),
    );
  });
  return running;
}

/** `GET /admin/channels`: each channel's state (healthy, failing, cooling_down) and failures in a row. */
export async function channelsView(s: ChannelApp) {
  const res = await s.request("/admin/channels", { key: s.adminToken });
  return ((await res.json()) as { data: { id: string; state: string; failures: number }[] }).data;
}
