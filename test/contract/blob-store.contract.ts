/** The BlobStore contract, run on local disk and on S3 (an S3-compatible server started by the test). */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { materialiseInputs } from "../../src/core/media/attempt_inputs.js";
import { BlobMissingError, type BlobStore } from "../../src/core/media/ports.js";
import { sampleTask } from "./job-queue.contract.js";

const bytesOf = async (r: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

export function blobStoreContract(
  name: string,
  open: () => Promise<{ blobs: BlobStore; close(): Promise<void> }>,
  /** Whether the store hands out presigned download URLs (S3 with `delivery: "redirect"`). */
  opts: { presigned: boolean },
): void {
  describe(`BlobStore contract: ${name}`, () => {
    const withStore = (fn: (blobs: BlobStore, dir: string) => Promise<void>) => async () => {
      const { blobs, close } = await open();
      const dir = await mkdtemp(join(tmpdir(), "reelay-blob-src-"));
      try {
        await fn(blobs, dir);
      } finally {
        await close();
        await rm(dir, { recursive: true, force: true });
      }
    };

    it(
      "stores a file, reports its size and type, reads it whole and by range, deletes it",
      withStore(async (blobs, dir) => {
        const data = randomBytes(100_000);
        const src = join(dir, "v.mp4");
        await writeFile(src, data);
        const key = "tasks/sora-2_task_1/video.mp4";
        expect(await blobs.put(key, src, "video/mp4")).toEqual({
          size: data.length,
          contentType: "video/mp4",
        });
        expect(await blobs.stat(key)).toEqual({ size: data.length, contentType: "video/mp4" });
        expect((await bytesOf(await blobs.read(key))).equals(data)).toBe(true);
        const part = await bytesOf(await blobs.read(key, { start: 1000, end: 1999 }));
        expect(part.equals(data.subarray(1000, 2000))).toBe(true);
        await blobs.delete(key);
        expect(await blobs.stat(key)).toBeUndefined();
        // Deleting what is gone is not an error.
        await blobs.delete(key);
        expect(await blobs.stat("tasks/none/video.mp4")).toBeUndefined();
      }),
    );

    it(
      "stores a large file whole (multipart on S3) and may take the source file",
      withStore(async (blobs, dir) => {
        const data = randomBytes(20 * 1024 * 1024 + 12345);
        const src = join(dir, "big.mp4");
        await writeFile(src, data);
        const key = "tasks/big/video.mp4";
        expect((await blobs.put(key, src, "video/mp4")).size).toBe(data.length);
        const back = await bytesOf(await blobs.read(key));
        expect(back.length).toBe(data.length);
        expect(back.equals(data)).toBe(true);
        const tail = await bytesOf(await blobs.read(key, { start: data.length - 10, end: data.length - 1 }));
        expect(tail.equals(data.subarray(data.length - 10))).toBe(true);
        // The source is the store's after put: moved (fs) or removed after the upload (S3).
        expect(existsSync(src)).toBe(false);
      }),
    );

    it(
      "a second file lands beside the first, a put over a key replaces it whole, a missing source is an error",
      withStore(async (blobs, dir) => {
        const write = async (file: string, data: Buffer) => {
          const p = join(dir, file);
          await writeFile(p, data);
          return p;
        };
        const [a, b, c] = [randomBytes(1000), randomBytes(2000), randomBytes(3000)];
        await blobs.put("tasks/pair/video.mp4", await write("a.mp4", a), "video/mp4");
        await blobs.put("tasks/pair/thumbnail.jpg", await write("b.jpg", b), "image/jpeg");
        expect(await blobs.stat("tasks/pair/thumbnail.jpg")).toEqual({
          size: 2000,
          contentType: "image/jpeg",
        });
        await blobs.put("tasks/pair/video.mp4", await write("c.mp4", c), "video/mp4");
        expect((await bytesOf(await blobs.read("tasks/pair/video.mp4"))).equals(c)).toBe(true);
        expect((await bytesOf(await blobs.read("tasks/pair/thumbnail.jpg"))).equals(b)).toBe(true);
        await expect(
          blobs.put("tasks/other/video.mp4", join(dir, "missing.mp4"), "video/mp4"),
        ).rejects.toThrow();
        expect(await blobs.stat("tasks/other/video.mp4")).toBeUndefined();
      }),
    );

    it(
      "deleteAll removes every key under a task's prefix and nothing else; check answers; a missing key reads as missing",
      withStore(async (blobs, dir) => {
        await blobs.check();
        const put = async (key: string) => {
          const src = join(dir, `${randomBytes(4).toString("hex")}.jpg`);
          await writeFile(src, randomBytes(100));
          await blobs.put(key, src, "image/jpeg");
        };
        const doomed = [
          "tasks/a/video.mp4",
          "tasks/a/attempt_1/video.mp4",
          "tasks/a/attempt_2/thumbnail.jpg",
        ];
        const kept = ["tasks/ab/video.mp4", "tasks/b/attempt_1/video.mp4", "uploads/u/reference.png"];
        for (const k of [...doomed, ...kept]) await put(k);
        await blobs.deleteAll("tasks/a/");
        for (const k of doomed) expect(await blobs.stat(k)).toBeUndefined();
        for (const k of kept) expect(await blobs.stat(k)).toBeDefined();
        await blobs.deleteAll("tasks/a/"); // nothing left: not an error
        await expect(blobs.read("tasks/a/video.mp4")).rejects.toBeInstanceOf(BlobMissingError);
      }),
    );

    it(
      "keeps the content type given to put, whatever the key's name, and replaces it with the blob",
      withStore(async (blobs, dir) => {
        const put = async (key: string, type: string, data = randomBytes(64)) => {
          const src = join(dir, `${randomBytes(4).toString("hex")}`);
          await writeFile(src, data);
          return blobs.put(key, src, type);
        };
        // A GIF upload: its extension says nothing the store knows.
        const gif = "uploads/upload_1/reference.gif";
        expect(await put(gif, "image/gif")).toEqual({ size: 64, contentType: "image/gif" });
        expect(await blobs.stat(gif)).toEqual({ size: 64, contentType: "image/gif" });
        // A name that says one type, given another; a name with no extension.
        await put("uploads/upload_2/source.mp4", "video/quicktime");
        expect((await blobs.stat("uploads/upload_2/source.mp4"))?.contentType).toBe("video/quicktime");
        await put("uploads/upload_3/blob", "image/png");
        expect((await blobs.stat("uploads/upload_3/blob"))?.contentType).toBe("image/png");
        // A put over the key replaces the type with the bytes, back to the name's own type too.
        await put("uploads/upload_2/source.mp4", "video/mp4", randomBytes(10));
        expect(await blobs.stat("uploads/upload_2/source.mp4")).toEqual({
          size: 10,
          contentType: "video/mp4",
        });
        await put(gif, "image/webp");
        expect((await blobs.stat(gif))?.contentType).toBe("image/webp");
        // Deleting a blob deletes its type: a new blob under the key has only its own.
        await blobs.delete(gif);
        expect(await blobs.stat(gif)).toBeUndefined();
        await put(gif, "image/gif");
        expect((await blobs.stat(gif))?.contentType).toBe("image/gif");
        await blobs.deleteAll("uploads/");
        for (const k of [gif, "uploads/upload_2/source.mp4", "uploads/upload_3/blob"])
          expect(await blobs.stat(k)).toBeUndefined();
      }),
    );

    it(
      "a missing key: read throws BlobMissingError naming it (whole or by range), stat is undefined, delete is fine",
      withStore(async (blobs, dir) => {
        const key = "uploads/upload_9/reference.png";
        const missing = async (read: Promise<unknown>) => {
          const e = await read.then(
            () => undefined,
            (err: unknown) => err,
          );
          expect(e).toBeInstanceOf(BlobMissingError);
          expect((e as BlobMissingError).key).toBe(key);
        };
        await missing(blobs.read(key));
        await missing(blobs.read(key, { start: 0, end: 9 }));
        expect(await blobs.stat(key)).toBeUndefined();
        await blobs.delete(key);
        // The same once a stored blob is deleted.
        const src = join(dir, "r.png");
        await writeFile(src, randomBytes(32));
        await blobs.put(key, src, "image/png");
        await blobs.delete(key);
        await missing(blobs.read(key));
        expect(await blobs.stat(key)).toBeUndefined();
        // What core makes of it: an attempt whose input was deleted fails for good, the same on
        // every store (README: render_failed).
        const request = { ...sampleTask("task_gone").request, imageKeys: [key] };
        await expect(materialiseInputs(blobs, request, dir)).rejects.toMatchObject({
          code: "render_failed",
          retryable: false,
        });
      }),
    );

    it(
      opts.presigned
        ? "hands out a presigned URL that serves the bytes with ranges, for the time asked"
        : "hands out no download URL: Reelay streams the blob itself",
      withStore(async (blobs, dir) => {
        if (!opts.presigned) {
          // Streamed by Reelay instead (read, with ranges, asserted above and by the HTTP tests).
          expect(blobs.downloadUrl).toBeUndefined();
          return;
        }
        expect(blobs.downloadUrl).toBeTypeOf("function");
        const data = randomBytes(50_000);
        const src = join(dir, "t.jpg");
        await writeFile(src, data);
        await blobs.put("tasks/t/thumbnail.jpg", src, "image/jpeg");
        const url = await blobs.downloadUrl?.("tasks/t/thumbnail.jpg", { ttlS: 60, filename: "t.jpg" });
        if (url === undefined) throw new Error("no download URL");
        const whole = await fetch(url);
        expect(whole.status).toBe(200);
        expect(whole.headers.get("content-type")).toBe("image/jpeg");
        expect(whole.headers.get("content-disposition")).toBe('inline; filename="t.jpg"');
        expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
        const ranged = await fetch(url, { headers: { range: "bytes=10-19" } });
        expect(ranged.status).toBe(206);
        expect(Buffer.from(await ranged.arrayBuffer()).equals(data.subarray(10, 20))).toBe(true);
        // Signed, and only for the time asked.
        const signed = new URL(url).searchParams;
        expect(signed.get("X-Amz-Expires")).toBe("60");
        expect(signed.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
      }),
    );
  });
}
