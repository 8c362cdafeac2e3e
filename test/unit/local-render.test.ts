/** A render (core/media/local_render.ts) whose task stopped before it began never calls the provider. */
import { expect, it } from "vitest";
import { renderHere } from "../../src/core/media/local_render.js";
import { sampleTask } from "../contract/job-queue.contract.js";
import { FakeProvider } from "../helpers/fake-provider.js";

it("a task cancelled between its claim and its render is not sent to the provider", async () => {
  const provider = new FakeProvider();
  const controller = new AbortController();
  controller.abort(new Error("task cancelled or deleted"));
  const calls: string[] = [];
  const deps = {
    provider,
    telemetry: { providerCall: (c: { outcome: string }) => void calls.push(c.outcome) },
    remover: {},
    blobs: {},
    blobKey: (file: string) => file,
    settings: { watermarkAttempts: 1, backoffBaseMs: 1, backoffMaxMs: 1 },
  } as unknown as Parameters<typeof renderHere>[0];
  await expect(
    renderHere(deps, sampleTask("sora-2:task_01k9009g8ef1esae6388chgcpx"), {
      workDir: "/nonexistent",
      files: { imageFiles: [] },
      signal: controller.signal,
      onProgress: () => undefined,
    } as unknown as Parameters<typeof renderHere>[2]),
  ).rejects.toThrow("task cancelled or deleted");
  expect(provider.calls).toBe(0);
  // Nothing was called, so nothing is reported as a provider call either.
  expect(calls).toEqual([]);
});
