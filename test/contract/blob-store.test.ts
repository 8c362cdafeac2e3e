/** Runs the BlobStore contract on local disk and on S3 (s3rver), in both S3 delivery modes. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createFsBlobStore } from "../../src/adapters/blobs/fs.js";
import { createS3BlobStore } from "../../src/adapters/blobs/s3.js";
import { startTestS3 } from "../helpers/s3.js";
import { blobStoreContract } from "./blob-store.contract.js";

blobStoreContract("fs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-"));
  return { blobs: createFsBlobStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

for (const delivery of ["redirect", "proxy"] as const) {
  blobStoreContract(`s3 (${delivery})`, async () => {
    const s3 = await startTestS3();
    const blobs = createS3BlobStore({
      bucket: s3.bucket,
      region: "us-east-1",
      endpoint: s3.endpoint,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      forcePathStyle: true,
      prefix: "reelay/",
      delivery,
    });
    return {
      blobs,
      async close() {
        blobs.close();
        await s3.close();
      },
    };
  });
}

it("a bucket that does not answer is storage_unavailable, retryable, on every operation", async () => {
  const s3 = await startTestS3();
  const blobs = createS3BlobStore({
    bucket: s3.bucket,
    region: "us-east-1",
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    prefix: "reelay/",
    delivery: "proxy",
  });
  const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-down-"));
  try {
    await s3.stop();
    await writeFile(join(dir, "v.mp4"), "x");
    const down = { code: "storage_unavailable", retryable: true };
    await expect(blobs.check()).rejects.toMatchObject(down);
    await expect(blobs.stat("tasks/t/video.mp4")).rejects.toMatchObject(down);
    await expect(blobs.read("tasks/t/video.mp4")).rejects.toMatchObject(down);
    await expect(blobs.put("tasks/t/video.mp4", join(dir, "v.mp4"), "video/mp4")).rejects.toMatchObject(down);
    await expect(blobs.deleteAll("tasks/t/")).rejects.toMatchObject(down);
  } finally {
    blobs.close();
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
});

it("a data dir that cannot be written is storage_unavailable on check", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-file-"));
  try {
    // The root is a file: nothing can be made under it (ENOTDIR, an operator's fault, not retried).
    await writeFile(join(dir, "root"), "");
    const blobs = createFsBlobStore(join(dir, "root"));
    await expect(blobs.check()).rejects.toMatchObject({ code: "storage_unavailable", retryable: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
