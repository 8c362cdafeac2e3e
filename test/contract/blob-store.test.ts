/** Runs the BlobStore contract on local disk and on S3 (s3rver), in both S3 delivery modes. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
