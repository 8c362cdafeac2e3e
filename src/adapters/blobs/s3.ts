/**
 * Results in an S3-compatible bucket (AWS, MinIO, …), shared by every worker and API process.
 * Uploads go through lib-storage's Upload: one PUT for a small file, a multipart upload in
 * parallel parts for a large one. Downloads are either presigned, expiring URLs the client
 * fetches from the bucket itself (`delivery: "redirect"`), or streamed through Reelay with
 * Range support (`proxy`, for buckets clients cannot reach).
 */
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { errors } from "../../core/errors.js";
import { type BlobInfo, BlobMissingError, type BlobStore } from "../../core/media/ports.js";
import { guardedBy } from "./typed_errors.js";

export interface S3BlobStoreOptions {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly forcePathStyle: boolean;
  readonly prefix: string;
  readonly delivery: "redirect" | "proxy";
}

/** Parts of a multipart upload: S3's minimum part size is 5 MiB; 8 MiB keeps part counts low. */
const PART_BYTES = 8 * 1024 * 1024;

const statusOf = (e: unknown): number | undefined =>
  (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * An S3 failure as Reelay's typed storage error. No HTTP status means the bucket was not reached
 * (refused, reset, timed out): like a 5xx, 408 or 429 that passes, so it is retryable. Other 4xx
 * (credentials, a missing bucket) wait for the operator.
 */
function storageError(e: unknown, what: string): Error {
  const status = statusOf(e);
  const passing = status === undefined || status >= 500 || status === 408 || status === 429;
  return errors.storageUnavailable(what, { retryable: passing, cause: e });
}

const guarded = guardedBy(storageError);

export function createS3BlobStore(opts: S3BlobStoreOptions): BlobStore & { close(): void } {
  const config: S3ClientConfig = {
    region: opts.region,
    forcePathStyle: opts.forcePathStyle,
    ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
    // Without explicit keys the SDK's default chain applies (env, shared config, instance role).
    ...(opts.accessKeyId && opts.secretAccessKey
      ? { credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } }
      : {}),
  };
  const client = new S3Client(config);
  const Bucket = opts.bucket;
  const keyOf = (key: string) => `${opts.prefix}${key}`;

  const upload = guarded(
    "storing a file",
    async (key: string, sourcePath: string, contentType: string): Promise<void> => {
      await new Upload({
        client,
        params: { Bucket, Key: keyOf(key), Body: createReadStream(sourcePath), ContentType: contentType },
        partSize: PART_BYTES,
        queueSize: 4,
        leavePartsOnError: false,
      }).done();
    },
  );
  const store: BlobStore & { close(): void } = {
    async put(key, sourcePath, contentType): Promise<BlobInfo> {
      const { size } = await stat(sourcePath);
      await upload(key, sourcePath, contentType);
      // The port lets the store take the source; the upload is done, the scratch copy can go.
      await rm(sourcePath, { force: true });
      return { size, contentType };
    },

    stat: guarded("reading a stored file", async (key: string) => {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return { size: head.ContentLength ?? 0, contentType: head.ContentType ?? "application/octet-stream" };
      } catch (e) {
        if (e instanceof NotFound || statusOf(e) === 404) return undefined;
        throw e;
      }
    }),

    read: guarded("reading a stored file", async (key: string, range?: { start: number; end: number }) => {
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket,
            Key: keyOf(key),
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        return res.Body as Readable;
      } catch (e) {
        // The port's "no such blob", as on disk.
        if (statusOf(e) === 404) throw new BlobMissingError(key, e);
        throw e;
      }
    }),

    delete: guarded("deleting a stored file", async (key: string) => {
      // S3 answers 204 for a key that is not there: deleting twice is fine.
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }));
    }),

    deleteAll: guarded("deleting stored files", async (prefix: string) => {
      // A page of at most 1000 keys, deleted in one request, until none is left.
      for (let page = 0; page < 10_000; page++) {
        const listed = await client.send(
          new ListObjectsV2Command({ Bucket, Prefix: keyOf(prefix), MaxKeys: 1000 }),
        );
        const keys = (listed.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
        if (keys.length === 0) return;
        await client.send(new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys, Quiet: true } }));
      }
    }),

    check: guarded("checking the bucket", async () => {
      await client.send(new HeadBucketCommand({ Bucket }));
    }),

    close: () => client.destroy(),
  };
  if (opts.delivery === "redirect") {
    store.downloadUrl = (key, { ttlS, filename }) =>
      getSignedUrl(
        client,
        new GetObjectCommand({
          Bucket,
          Key: keyOf(key),
          ResponseContentDisposition: `inline; filename="${filename}"`,
        }),
        { expiresIn: ttlS },
      );
  }
  return store;
}
