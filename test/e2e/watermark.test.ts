/**
 * The watermark policy with a marking provider and removers that fail, flake or work. The "video"
 * bytes tell which file was delivered: the provider's marked one, or the remover's clean one.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { errors } from "../../src/core/errors.js";
import type { WatermarkRemover } from "../../src/core/media/ports.js";
import { startTestApp, type TestApp, waitForTask } from "../helpers/app.js";
import { FAKE_VIDEO, FakeProvider } from "../helpers/fake-provider.js";

const CLEAN = Buffer.from("a clean video");

/** A remover that fails its first `failures` calls (retryable), then works; -1: never works. */
class ScriptedRemover implements WatermarkRemover {
  readonly name = "scripted";
  calls = 0;
  constructor(
    private readonly failures: number,
    private readonly retryable = true,
  ) {}
  async remove({ workDir }: { workDir: string }): Promise<string> {
    this.calls++;
    if (this.failures < 0 || this.calls <= this.failures)
      throw errors.watermarkRemover(`removal failed (call ${this.calls})`, this.retryable);
    const out = join(workDir, "clean.mp4");
    await writeFile(out, CLEAN);
    return out;
  }
}

const apps: TestApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function run(remover: ScriptedRemover, watermark: boolean) {
  const provider = new FakeProvider();
  provider.markRegion = { x: 10, y: 10, width: 100, height: 40 };
  const app = await startTestApp({
    overrides: { provider, remover },
    env: { REELAY_WATERMARK_ATTEMPTS: "3" },
    engine: { backoffBaseMs: 10, backoffMaxMs: 20 },
  });
  apps.push(app);
  const key = await app.newKey();
  const res = await app.request("/v1/video/create", {
    key,
    body: {
      model: "sora-2",
      prompt: "marked",
      orientation: "portrait",
      size: "small",
      duration: 10,
      watermark,
    },
  });
  const { id } = (await res.json()) as { id: string };
  const task = await waitForTask(app, key, id);
  const detail = task.detail as {
    has_watermark: boolean | null;
    pending_info: { failure_reason: string | null };
  };
  const bytes = task.video_url
    ? Buffer.from(await (await fetch(String(task.video_url))).arrayBuffer())
    : null;
  return { task, detail, bytes };
}

describe("watermark: true (default) prefers clean, falls back to marked", () => {
  it("working remover → the clean video, has_watermark false", async () => {
    const r = new ScriptedRemover(0);
    const { task, detail, bytes } = await run(r, true);
    expect(task.status).toBe("completed");
    expect(detail.has_watermark).toBe(false);
    expect(bytes?.equals(CLEAN)).toBe(true);
  });

  it("failing remover → the marked video, has_watermark true, the reason recorded", async () => {
    const r = new ScriptedRemover(-1);
    const { task, detail, bytes } = await run(r, true);
    expect(task.status).toBe("completed");
    expect(detail.has_watermark).toBe(true);
    expect(detail.pending_info.failure_reason).toContain("delivered with the mark");
    expect(bytes?.equals(FAKE_VIDEO)).toBe(true);
    expect(r.calls).toBe(1);
  });
});

describe("watermark: false insists on a clean video", () => {
  it("flaky remover → retried with backoff, then clean", async () => {
    const r = new ScriptedRemover(2);
    const { task, detail, bytes } = await run(r, false);
    expect(task.status).toBe("completed");
    expect(detail.has_watermark).toBe(false);
    expect(bytes?.equals(CLEAN)).toBe(true);
    expect(r.calls).toBe(3);
  });

  it("failing remover → the task fails with watermark_removal_failed after the limit", async () => {
    const r = new ScriptedRemover(-1);
    const { task, bytes } = await run(r, false);
    expect(task.status).toBe("failed");
    expect(task.error).toMatchObject({ code: "watermark_removal_failed" });
    expect(bytes).toBeNull();
    expect(r.calls).toBe(3);
  });

  it("a remover that says retrying is pointless is not retried", async () => {
    const r = new ScriptedRemover(-1, false);
    const { task } = await run(r, false);
    expect(task.status).toBe("failed");
    expect(r.calls).toBe(1);
  });

  it("working remover → clean at once", async () => {
    const r = new ScriptedRemover(0);
    const { task, bytes } = await run(r, false);
    expect(task.status).toBe("completed");
    expect(bytes?.equals(CLEAN)).toBe(true);
    expect(r.calls).toBe(1);
  });
});
