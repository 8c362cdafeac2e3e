/** Results on local disk under the data dir. Writes are atomic: a reader never sees half a file. */
import { copyFile, mkdir, open, rename, rm, rmdir, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, extname, join, relative, resolve, sep } from "node:path";
import { errors } from "../../core/errors.js";
import type { BlobInfo, BlobStore } from "../../core/ports.js";
import { guardedBy } from "./typed_errors.js";

const CONTENT_TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".webp": "image/webp",
};
export const contentTypeOf = (key: string): string =>
  CONTENT_TYPES[extname(key).toLowerCase()] ?? "application/octet-stream";

/** Disk faults that pass (a failing or full disk, a network mount away, too many open files). */
const PASSING = new Set([
  "EIO",
  "ENOSPC",
  "EDQUOT",
  "EMFILE",
  "ENFILE",
  "EAGAIN",
  "EBUSY",
  "ESTALE",
  "ETIMEDOUT",
  "ENOTCONN",
  "EHOSTDOWN",
]);

/**
 * A disk error as Reelay's typed storage error (the worker retries passing ones; a download
 * answers 503). Not an errno error (a key escaping the root): left as it is.
 */
function storageError(e: unknown, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== "string" || !code.startsWith("E")) return e;
  return errors.storageUnavailable(what, { retryable: PASSING.has(code), cause: e });
}
const guarded = guardedBy(storageError);

export function createFsBlobStore(root: string): BlobStore {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const p = resolve(base, key);
    // Keys are made by Reelay, but a key must never escape the root whatever it holds.
    if (!p.startsWith(base + sep)) throw new Error(`Blob key escapes the store: ${key}`);
    return p;
  };

  return {
    put: guarded("storing a file", async (key: string, sourcePath: string, contentType: string) => {
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
      return { size: s.size, contentType } satisfies BlobInfo;
    }),

    stat: guarded("reading a stored file", async (key: string) => {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? { size: s.size, contentType: contentTypeOf(key) } : undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw e;
      }
    }),

    read: guarded("reading a stored file", async (key: string, range?: { start: number; end: number }) => {
      // Opened first, so a missing file or a failing disk is this call's error, not the stream's.
      const handle = await open(pathOf(key), "r");
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    }),

    delete: guarded("deleting a stored file", async (key: string) => {
      await unlink(pathOf(key)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      // Remove the folders the key made once empty (an attempt's, then its task's); a folder
      // that still holds something stays (rmdir refuses it).
      // The top folders (`tasks`, `uploads`) stay: puts elsewhere may be making their own under them.
      for (let dir = dirname(pathOf(key)); relative(base, dir).split(sep).length > 1; dir = dirname(dir)) {
        if (
          !(await rmdir(dir).then(
            () => true,
            () => false,
          ))
        )
          break;
      }
    }),

    deleteAll: guarded("deleting stored files", async (prefix: string) => {
      await rm(pathOf(prefix), { recursive: true, force: true });
    }),

    check: guarded("checking the data dir", async () => {
      // A write, not a stat: a full disk or a read-only remount still stats fine.
      const probe = join(base, `.ready-${process.pid}`);
      await mkdir(base, { recursive: true });
      await writeFile(probe, "");
      await unlink(probe);
    }),
  };
}
