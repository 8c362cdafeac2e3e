/** Results on local disk under the data dir. Writes are atomic: a reader never sees half a file. */
import { createReadStream } from "node:fs";
import { copyFile, mkdir, rename, rm, stat, unlink } from "node:fs/promises";
import { dirname, extname, join, resolve, sep } from "node:path";
import type { BlobInfo, BlobStore } from "../../core/ports.js";

const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
};
export const contentTypeOf = (key: string): string =>
  CONTENT_TYPES[extname(key).toLowerCase()] ?? "application/octet-stream";

export function createFsBlobStore(root: string): BlobStore {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const p = resolve(base, key);
    // Keys are made by Reelay, but a key must never escape the root whatever it holds.
    if (!p.startsWith(base + sep)) throw new Error(`Blob key escapes the store: ${key}`);
    return p;
  };

  return {
    async put(key, sourcePath, contentType): Promise<BlobInfo> {
      const dest = pathOf(key);
      // On the same filesystem a rename is the move, and atomic: readers see the old file or the
      // new one. The folder is made only when the rename finds it missing (one disk operation
      // fewer per file on the worker's hot path).
      try {
        await rename(sourcePath, dest);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          await stat(sourcePath); // a missing source is the caller's error: let it surface as such
          await mkdir(dirname(dest), { recursive: true });
          await rename(sourcePath, dest);
        } else if (code === "EXDEV") {
          // Another filesystem: copy next to the destination, then rename into place.
          await mkdir(dirname(dest), { recursive: true });
          const tmp = `${dest}.partial`;
          await copyFile(sourcePath, tmp);
          await rename(tmp, dest);
        } else {
          throw e;
        }
      }
      const s = await stat(dest);
      return { size: s.size, contentType };
    },

    async stat(key) {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? { size: s.size, contentType: contentTypeOf(key) } : undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    },

    async read(key, range) {
      return createReadStream(pathOf(key), range ? { start: range.start, end: range.end } : {});
    },

    async delete(key) {
      await unlink(pathOf(key)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      // Remove the task's folder once empty; ignore when something else is still in it.
      await rm(dirname(pathOf(key)), { recursive: false }).catch(() => undefined);
    },
  };
}

export const blobKeyFor = (taskId: string, file: string): string =>
  join("tasks", taskId.replace(/[^a-zA-Z0-9_-]/g, "_"), file);
