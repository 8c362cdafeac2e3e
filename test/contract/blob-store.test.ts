/** Runs the BlobStore contract on local disk and on S3 (s3rver), in both S3 delivery modes. */
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { createFsBlobStore } from "../../src/adapters/blobs/fs.js";
import { createS3BlobStore } from "../../src/adapters/blobs/s3.js";
import { startTestS3, type TestS3 } from "../helpers/s3.js";
import { blobStoreContract } from "./blob-store.contract.js";

/** The store over the test's S3 server, under a key prefix as deployments often use. */
const s3Store = (s3: TestS3, delivery: "redirect" | "proxy") =>
  createS3BlobStore({
    bucket: s3.bucket,
    region: "us-east-1",
    endpoint: s3.endpoint,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    forcePathStyle: true,
    prefix: "reelay/",
    delivery,
  });

blobStoreContract(
  "fs",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-"));
    return { blobs: createFsBlobStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
  },
  { presigned: false },
);

for (const delivery of ["redirect", "proxy"] as const) {
  blobStoreContract(
    `s3 (${delivery})`,
    async () => {
      const s3 = await startTestS3();
      const blobs = s3Store(s3, delivery);
      return {
        blobs,
        async close() {
          blobs.close();
          await s3.close();
        },
      };
    },
    { presigned: delivery === "redirect" },
  );
}

it("a bucket that does not answer is storage_unavailable, retryable, on every operation", async () => {
  const s3 = await startTestS3();
  const blobs = s3Store(s3, "proxy");
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

it("fs: a blob stored before types were kept reads as its name says; a deleted blob leaves no file behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-legacy-"));
  try {
    const blobs = createFsBlobStore(dir);
    // Written as an older version did: the file alone, under its key.
    await mkdir(join(dir, "tasks", "old"), { recursive: true });
    await writeFile(join(dir, "tasks", "old", "thumbnail.jpg"), "jpeg");
    await writeFile(join(dir, "tasks", "old", "notes.gif"), "gif");
    expect(await blobs.stat("tasks/old/thumbnail.jpg")).toEqual({ size: 4, contentType: "image/jpeg" });
    expect(await blobs.stat("tasks/old/notes.gif")).toEqual({
      size: 3,
      contentType: "application/octet-stream",
    });
    // A type the name does not say is kept beside the blob, and goes with it.
    await writeFile(join(dir, "g"), "GIF89a");
    await blobs.put("uploads/upload_1/reference.gif", join(dir, "g"), "image/gif");
    expect((await blobs.stat("uploads/upload_1/reference.gif"))?.contentType).toBe("image/gif");
    await blobs.delete("uploads/upload_1/reference.gif");
    expect(await readdir(join(dir, "uploads"))).toEqual([]);
    // A key may not name a type sidecar.
    await expect(blobs.stat("uploads/upload_1/reference.gif.meta.json")).rejects.toThrow(/sidecar/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("fs: deleteAll succeeds while files are still being written under the prefix (a task deleted as its render stores its results)", async () => {
  // Removing a folder while another write adds to it fails at its last rmdir (ENOTEMPTY) unless
  // the removal tries again. (Not in the contract: s3rver, the S3 stand-in, throws unhandled errors
  // when an object is deleted while it is written; a real bucket has no folder to empty.)
  const dir = await mkdtemp(join(tmpdir(), "reelay-blobs-"));
  const blobs = createFsBlobStore(join(dir, "store"));
  let n = 0;
  const putOne = async (key: string) => {
    const src = join(dir, `src-${n++}.jpg`);
    await writeFile(src, "a frame");
    await blobs.put(key, src, "image/jpeg");
  };
  try {
    // Bounded: 20 rounds, each a delete racing 10 writes into the folder it removes.
    for (let round = 0; round < 20; round++) {
      const prefix = `tasks/race${round}/`;
      for (let i = 0; i < 10; i++) await putOne(`${prefix}old${i}.jpg`);
      const writes = (async () => {
        for (let i = 0; i < 10; i++) await putOne(`${prefix}new${i}.jpg`);
      })();
      await blobs.deleteAll(prefix);
      await writes;
      // What was there before is gone; a late write's file may remain, for its writer to delete
      // (a render that finds its task gone deletes its own files).
      for (let i = 0; i < 10; i++) expect(await blobs.stat(`${prefix}old${i}.jpg`)).toBeUndefined();
    }
  } finally {
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  }
});
