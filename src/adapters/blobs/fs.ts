/**
 * Results on local disk under the data dir. Writes are atomic: a reader never sees half a file.
 * A blob's content type is its name's (`contentTypeByName`) unless `put` was given another: then a
 * sidecar `<key>.meta.json` beside it holds the type (so the usual video and images cost no extra
 * file, and blobs stored before sidecars existed read as they always did).
 */
import {
  copyFile,
  mkdir,
  open,
  readFile,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { errors } from "../../core/errors.js";
import { contentTypeByName } from "../../core/media/blob_keys.js";
import { type BlobInfo, BlobMissingError, type BlobStore } from "../../core/media/ports.js";
import { guardedBy } from "./typed_errors.js";

/** The sidecar of a blob whose type is not its name's; no key of a blob may end with it. */
const META = ".meta.json";

const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === "ENOENT";
const ignoreMissing = (e: unknown): void => {
  if (!isMissing(e)) throw e;
};

/** Writes `data` to `path` through a temporary file and a rename, making its folder if missing. */
async function writeAtomically(path: string, data: string): Promise<void> {
  const tmp = `${path}.partial`;
  await writeFile(tmp, data).catch(async (e: unknown) => {
    ignoreMissing(e);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, data);
  });
  await rename(tmp, path);
}

/** The type a blob's sidecar names; the name's type when it has none. */
async function typeOf(path: string, key: string): Promise<string> {
  try {
    const meta = JSON.parse(await readFile(`${path}${META}`, "utf8")) as { contentType?: unknown };
    if (typeof meta.contentType === "string") return meta.contentType;
  } catch (e) {
    if (!isMissing(e) && !(e instanceof SyntaxError)) throw e;
  }
  return contentTypeByName(key);
}

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
 * answers 503). Not an errno error (a key escaping the root), or a missing source: left as it is.
 */
function storageError(e: unknown, what: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  // A missing source of a put is the caller's error (a missing blob is `BlobMissingError`).
  if (typeof code !== "string" || !code.startsWith("E") || code === "ENOENT") return e;
  return errors.storageUnavailable(what, { retryable: PASSING.has(code), cause: e });
}
const guarded = guardedBy(storageError);

export function createFsBlobStore(root: string): BlobStore {
  const base = resolve(root);
  const pathOf = (key: string): string => {
    const p = resolve(base, key);
    // Keys are made by Reelay, but a key must never escape the root whatever it holds.
    if (!p.startsWith(base + sep)) throw new Error(`Blob key escapes the store: ${key}`);
    if (p.endsWith(META)) throw new Error(`Blob key names a content type sidecar: ${key}`);
    return p;
  };

  /** Records the type of the blob at `dest` before it lands, or forgets an earlier one. */
  const recordType = async (dest: string, key: string, contentType: string): Promise<void> => {
    if (contentType === contentTypeByName(key)) await unlink(`${dest}${META}`).catch(ignoreMissing);
    else await writeAtomically(`${dest}${META}`, JSON.stringify({ contentType }));
  };

  return {
    put: guarded("storing a file", async (key: string, sourcePath: string, contentType: string) => {
      const dest = pathOf(key);
      await recordType(dest, key, contentType);
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
        const path = pathOf(key);
        const s = await stat(path);
        return s.isFile() ? { size: s.size, contentType: await typeOf(path, key) } : undefined;
      } catch (e) {
        ignoreMissing(e);
        return undefined;
      }
    }),

    read: guarded("reading a stored file", async (key: string, range?: { start: number; end: number }) => {
      // Opened first, so a missing file or a failing disk is this call's error, not the stream's.
      const handle = await open(pathOf(key), "r").catch((e: unknown) => {
        throw isMissing(e) ? new BlobMissingError(key, e) : e;
      });
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    }),

    delete: guarded("deleting a stored file", async (key: string) => {
      await unlink(pathOf(key)).catch(ignoreMissing);
      await unlink(`${pathOf(key)}${META}`).catch(ignoreMissing);
      // Remove the folders the key made once empty (its task's; an attempt's in the older layout); a folder
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
      // A render may still be storing its results in the folder (its task deleted meanwhile: it
      // deletes its own files once it finds that out): removing the folder then meets a file
      // written after its listing (ENOTEMPTY), and tries again.
      await rm(pathOf(prefix), { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
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
