import { describe, expect, it } from "vitest";
import { hashSecret, mintApiKey, secretMatches } from "../../src/core/accounts/keys.js";
import { DEFAULT_MODELS, dimensions, modelTable } from "../../src/core/catalogue/models.js";
import { isTaskId, newTaskId } from "../../src/core/ids.js";
import { backoffMs } from "../../src/core/jobs/backoff.js";
import { createLinkSigner } from "../../src/core/media/links.js";
import { parseUnifiedCreate } from "../../src/core/tasks/params.js";
import { canMove } from "../../src/core/tasks/task.js";

describe("task ids", () => {
  it("are the family, ':task_' and a 26-char lowercase ULID", () => {
    const id = newTaskId("sora-2", Date.now());
    expect(id).toMatch(/^sora-2:task_[0-9a-z]{26}$/);
    expect(id).toBe(id.toLowerCase());
    expect(isTaskId(id)).toBe(true);
    expect(isTaskId("sora-2:task_01k9009g8ef1esae6388chgcpx")).toBe(true);
    expect(isTaskId("sora-2:task_01K9009G8EF1ESAE6388CHGCPX")).toBe(false);
    expect(isTaskId("task_01k9009g8ef1esae6388chgcpx")).toBe(false);
  });
  it("sort by creation time", () => {
    expect(newTaskId("f", 1_000) < newTaskId("f", 2_000)).toBe(true);
  });
});

describe("normalisation", () => {
  const models = modelTable(DEFAULT_MODELS);
  it("fills the seed's defaults and the pixel size", () => {
    const r = parseUnifiedCreate(
      { model: "sora-2-pro-all", prompt: "  hi  ", orientation: "landscape", size: "large", duration: 25 },
      models,
    );
    expect(r).toEqual({
      api: "unified",
      model: "sora-2-pro-all",
      family: "sora-2",
      prompt: "hi",
      orientation: "landscape",
      size: "large",
      width: 1920,
      height: 1080,
      duration: 25,
      images: [],
      imageKeys: [],
      source: null,
      watermark: true,
      private: false,
    });
  });
  it("small is 720p and large 1080p, in both orientations", () => {
    expect(dimensions("portrait", "small")).toEqual({ width: 720, height: 1280 });
    expect(dimensions("landscape", "small")).toEqual({ width: 1280, height: 720 });
    expect(dimensions("portrait", "large")).toEqual({ width: 1080, height: 1920 });
    expect(dimensions("landscape", "large")).toEqual({ width: 1920, height: 1080 });
  });
});

describe("state machine", () => {
  it("terminal states have no way out; retries go processing → pending", () => {
    for (const t of ["completed", "failed", "cancelled"] as const) {
      expect(canMove(t, "processing")).toBe(false);
      expect(canMove(t, "pending")).toBe(false);
    }
    expect(canMove("processing", "pending")).toBe(true);
    expect(canMove("pending", "completed")).toBe(false);
  });
});

describe("backoff", () => {
  it("doubles per attempt within [50 %, 100 %], capped, with Retry-After as a floor", () => {
    expect(backoffMs(1, { baseMs: 1000, maxMs: 60_000, random: () => 0 })).toBe(500);
    expect(backoffMs(1, { baseMs: 1000, maxMs: 60_000, random: () => 1 })).toBe(1000);
    expect(backoffMs(3, { baseMs: 1000, maxMs: 60_000, random: () => 1 })).toBe(4000);
    expect(backoffMs(20, { baseMs: 1000, maxMs: 60_000, random: () => 1 })).toBe(60_000);
    expect(backoffMs(1, { baseMs: 1000, maxMs: 60_000, random: () => 0, retryAfterS: 30 })).toBe(30_000);
  });
});

describe("signed links", () => {
  const signer = createLinkSigner({ secret: "s".repeat(32), publicUrl: "https://r.example/", ttlS: 60 });
  it("verify only the same key, before expiry", () => {
    const { url, expiresAt } = signer.sign("tasks/t/video.mp4", 1_000_000);
    const u = new URL(url);
    expect(u.origin + u.pathname).toBe("https://r.example/files/tasks/t/video.mp4");
    expect(expiresAt).toBe(1060);
    const exp = u.searchParams.get("exp") ?? "";
    const sig = u.searchParams.get("sig") ?? "";
    expect(signer.verify("tasks/t/video.mp4", exp, sig, 1_000_000)).toBe("ok");
    expect(signer.verify("tasks/t/video.mp4", exp, sig, 1_061_000)).toBe("expired");
    expect(signer.verify("tasks/t/other.mp4", exp, sig, 1_000_000)).toBe("invalid");
    expect(signer.verify("tasks/t/video.mp4", String(Number(exp) + 1), sig, 1_000_000)).toBe("invalid");
    const other = createLinkSigner({ secret: "t".repeat(32), publicUrl: "https://r.example", ttlS: 60 });
    expect(other.verify("tasks/t/video.mp4", exp, sig, 1_000_000)).toBe("invalid");
  });
});

describe("API keys", () => {
  it("store only a hash, and match in constant time", () => {
    const { record, secret } = mintApiKey({ name: "n", now: 1 });
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(record.hash).toBe(hashSecret(secret));
    expect(secretMatches(secret, record.hash)).toBe(true);
    expect(secretMatches(`${secret}x`, record.hash)).toBe(false);
  });
});
