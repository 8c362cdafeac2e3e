import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/main/config.js";

describe("config", () => {
  it("has the documented defaults", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8787);
    expect(c.dataDir).toBe(join(process.cwd(), "data"));
    expect(c.publicUrl).toBe("http://localhost:8787");
    expect(c.adminToken).toBeUndefined();
    expect(c.models.map((m) => m.name).slice(0, 4)).toEqual([
      "sora-2",
      "sora-2-pro",
      "sora-2-all",
      "sora-2-pro-all",
    ]);
    expect(c.engine.concurrency).toBeGreaterThanOrEqual(1);
  });

  it("scale-out settings: PostgreSQL and an S3 bucket, off by default", () => {
    expect(loadConfig({})).toMatchObject({ database: null, storage: { kind: "fs" } });
    const c = loadConfig({
      REELAY_DATABASE_URL: "postgres://reelay:pw@db:5432/reelay",
      REELAY_ADMIN_TOKEN: "admin-token-0123456789",
      REELAY_SIGNING_SECRET: "s".repeat(32),
      REELAY_JOB_LEASE_S: "5",
      REELAY_STORAGE: "s3",
      REELAY_S3_BUCKET: "videos",
      REELAY_S3_ENDPOINT: "http://minio:9000",
      REELAY_S3_FORCE_PATH_STYLE: "true",
    });
    expect(c.database).toEqual({
      url: "postgres://reelay:pw@db:5432/reelay",
      poolSize: 10,
      maintenanceIntervalS: 10,
    });
    expect(c.engine.leaseMs).toBe(5000);
    // Upstream tasks a dead worker was polling come back after the same lease as its jobs.
    expect(c.poller.leaseMs).toBe(5000);
    expect(c.storage).toMatchObject({
      kind: "s3",
      bucket: "videos",
      region: "us-east-1",
      endpoint: "http://minio:9000",
      forcePathStyle: true,
      delivery: "redirect",
    });
  });

  it("reads the webhook retry schedule and one allow-list for images and webhooks", () => {
    expect(loadConfig({}).webhooks.retryScheduleMs).toEqual([
      5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
    ]);
    expect(loadConfig({ REELAY_WEBHOOK_RETRY_SCHEDULE: "50ms, 2s,1m,1h" }).webhooks.retryScheduleMs).toEqual([
      50, 2_000, 60_000, 3_600_000,
    ]);
    const c = loadConfig({
      REELAY_ALLOW_HOSTS: "Hooks.local:8080",
      REELAY_IMAGE_ALLOW_HOSTS: "images.local",
    });
    expect(c.webhooks.allowHosts).toEqual(["hooks.local:8080", "images.local"]);
    expect(c.images.allowHosts).toEqual(c.webhooks.allowHosts);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ PORT: "" }).port).toBe(8787);
  });

  it.each([
    [{ PORT: "70000" }, "PORT"],
    [{ PORT: "1.5" }, "PORT"],
    [{ REELAY_LINK_TTL_S: "5" }, "REELAY_LINK_TTL_S"],
    [{ REELAY_SIGNING_SECRET: "short" }, "REELAY_SIGNING_SECRET"],
    [{ REELAY_MAX_ATTEMPTS: "0" }, "REELAY_MAX_ATTEMPTS"],
    [{ REELAY_RETRY_BASE_MS: "5000", REELAY_RETRY_MAX_MS: "1000" }, "REELAY_RETRY_MAX_MS"],
    [{ REELAY_CONFIG_FILE: "/nonexistent/reelay.json" }, "REELAY_CONFIG_FILE"],
    [{ REELAY_DATABASE_URL: "mysql://db/reelay" }, "REELAY_DATABASE_URL"],
    [{ REELAY_DATABASE_URL: "postgres://db/reelay" }, "REELAY_SIGNING_SECRET"],
    [{ REELAY_DATABASE_POOL_SIZE: "1" }, "REELAY_DATABASE_POOL_SIZE"],
    [{ REELAY_JOB_LEASE_S: "0" }, "REELAY_JOB_LEASE_S"],
    [{ REELAY_STORAGE: "gcs" }, "REELAY_STORAGE"],
    [{ REELAY_STORAGE: "s3" }, "REELAY_S3_BUCKET"],
    [{ REELAY_STORAGE: "s3", REELAY_S3_BUCKET: "bkt", REELAY_S3_DELIVERY: "cdn" }, "REELAY_S3_DELIVERY"],
    [{ REELAY_S3_ENDPOINT: "minio:9000" }, "REELAY_S3_ENDPOINT"],
    [{ REELAY_WEBHOOK_RETRY_SCHEDULE: "5s,soon" }, "REELAY_WEBHOOK_RETRY_SCHEDULE"],
    [{ REELAY_WEBHOOK_RETRY_SCHEDULE: "25h" }, "REELAY_WEBHOOK_RETRY_SCHEDULE"],
    [{ REELAY_WEBHOOK_TIMEOUT_MS: "10" }, "REELAY_WEBHOOK_TIMEOUT_MS"],
  ])("%o is refused, naming the variable", (env, name) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(name);
  });

  it("a config file extends, overrides and removes catalogue models by name, or replaces the catalogue", async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-cfg-"));
    try {
      const file = join(dir, "c.json");
      const load = async (body: object) => {
        await writeFile(file, JSON.stringify(body));
        return loadConfig({ REELAY_CONFIG_FILE: file });
      };
      const m = {
        name: "clip-1",
        family: "clip",
        sizes: ["small"],
        durations: [5],
        maxImages: 0,
        videoSizes: [],
        videoSeconds: [],
      };
      // builtinModels: false — the file's models are the whole table.
      expect((await load({ builtinModels: false, models: [m] })).models).toEqual([m]);
      // Otherwise merged into the built-ins: a new one added, one overridden, one removed, one extended.
      const merged = (
        await load({
          models: [
            { name: "clip-1", family: "clip", sizes: ["small"], durations: [5], maxImages: 0 },
            { name: "sora-2", durations: [10] },
            { name: "sora-2-all", remove: true },
            { name: "sora-2-long", extends: "sora-2-pro", durations: [25] },
          ],
        })
      ).models;
      const byName = new Map(merged.map((x) => [x.name, x]));
      expect(byName.get("clip-1")).toEqual(m);
      expect(byName.get("sora-2")).toMatchObject({ durations: [10], family: "sora-2", maxImages: 4 });
      expect(byName.has("sora-2-all")).toBe(false);
      expect(byName.get("sora-2-long")).toMatchObject({ durations: [25], sizes: ["small", "large"] });
      expect(byName.has("sora-2-pro")).toBe(true);
      // Errors name the entry.
      await expect(load({ models: [m, m] })).rejects.toThrow(
        "models[1] ('clip-1'): the name is listed twice",
      );
      await expect(load({ models: [{ name: "nope", remove: true }] })).rejects.toThrow(
        "models[0] ('nope'): there is no such model to remove",
      );
      await expect(load({ models: [{ name: "x", durations: [5] }] })).rejects.toThrow(
        "models[0] ('x'): a new model needs family, sizes, maxImages",
      );
      await expect(load({ models: [{ name: "y", extends: "sora-9" }] })).rejects.toThrow(
        "'extends' names 'sora-9'",
      );
      await expect(
        load({ models: [{ name: "z", extends: "sora-2", accepts: { aspectRatios: ["wide"] } }] }),
      ).rejects.toThrow("models.0.accepts");
      // Per-model input names (fal, Replicate): known inputs only.
      const inputs = {
        fields: { prompt: "prompt", firstFrame: "image_url" },
        fixed: { enable_safety_checker: true },
      };
      const withInputs = (await load({ models: [{ name: "fal-x", extends: "sora-2", inputs }] })).models;
      expect(withInputs.find((x) => x.name === "fal-x")?.inputs).toEqual(inputs);
      await expect(
        load({ models: [{ name: "fal-y", extends: "sora-2", inputs: { fields: { colour: "c" } } }] }),
      ).rejects.toThrow("models.0.inputs");
      await expect(load({ modles: [m] })).rejects.toThrow("modles");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
