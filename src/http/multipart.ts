/**
 * Reads a request body as the OpenAI routes accept it: multipart/form-data (what the official
 * client sends, with bracketed names like `input_reference[image_url]`) or JSON (older clients).
 * Files are spooled to disk with a size cap; fields are nested by their brackets.
 */
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type {} from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { errors } from "../core/errors.js";
import type { FormBody, UploadedFile } from "../core/tasks/openai_params.js";

const MAX_FIELDS = 32;
const MAX_FIELD_BYTES = 64 * 1024;
/** The most a form keeps in memory (its text fields; files are spooled to disk). */
export const FORM_MEMORY_BYTES = MAX_FIELDS * MAX_FIELD_BYTES;

/**
 * Fields a form may repeat, gathered into a list: `reference_images` (also as `reference_images[]`).
 * Repeated file parts of that name become `reference_images[0]`, `[1]`… in order.
 */
const REPEATABLE = new Set(["reference_images", "reference_images[]"]);
const listName = (name: string): string => name.replace(/\[\]$/, "");
/** Files a form may carry: input_reference, last_frame and up to 16 reference images. */
const MAX_FILES = 18;

const NAME = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[[A-Za-z0-9_]*\])*)$/;

/** `a[b][c]` = v → {a: {b: {c: v}}}; refuses names it cannot read and repeated fields. */
function setField(target: Record<string, unknown>, name: string, value: string): void {
  if (REPEATABLE.has(name)) {
    const list = target[listName(name)];
    if (list === undefined) target[listName(name)] = [value];
    else if (Array.isArray(list)) list.push(value);
    else throw errors.invalidField(name, `Field '${name}' conflicts with another`);
    return;
  }
  const m = NAME.exec(name);
  if (!m?.[1]) throw errors.invalidField(name, `Unreadable form field name '${name}'`);
  const path = [m[1], ...[...(m[2] ?? "").matchAll(/\[([^\]]*)\]/g)].map((x) => x[1] ?? "")];
  if (path.some((p) => p === "" || p === "__proto__" || p === "constructor" || p === "prototype")) {
    throw errors.invalidField(name, `Unsupported form field name '${name}'`);
  }
  let obj = target;
  for (const key of path.slice(0, -1)) {
    const next = obj[key];
    if (next === undefined) obj[key] = Object.create(null) as Record<string, unknown>;
    else if (typeof next !== "object" || next === null)
      throw errors.invalidField(name, `Field '${name}' conflicts with another`);
    obj = obj[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1] as string;
  if (last in obj) throw errors.invalidField(name, `Field '${name}' is given more than once`);
  obj[last] = value;
}

/** Plain (prototype-free objects become ordinary ones so zod and JSON treat them as usual). */
const plain = (v: unknown): unknown =>
  v !== null && typeof v === "object"
    ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, plain(x)]))
    : v;

export interface ReadFormOptions {
  readonly spoolDir: string;
  readonly maxFileBytes: number;
}

/** What the client sent, for idempotency fingerprints: fields, and each file by its content hash. */
export const formInput = (form: FormBody): unknown => ({
  fields: form.fields,
  files: Object.fromEntries(
    Object.entries(form.files).map(([k, f]) => [k, { sha256: f.sha256, type: f.mimetype }]),
  ),
});

/** The body as fields + files. The caller owns the spooled files: `discard` removes them. */
export async function readForm(
  req: FastifyRequest,
  opts: ReadFormOptions,
): Promise<FormBody & { discard(): Promise<void> }> {
  const spooled: string[] = [];
  const discard = async () => {
    await Promise.all(spooled.map((p) => rm(p, { force: true })));
  };
  if (!req.isMultipart()) {
    return { fields: req.body ?? {}, files: {}, discard };
  }
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const files: Record<string, UploadedFile> = {};
  try {
    await mkdir(opts.spoolDir, { recursive: true });
    for await (const part of req.parts({
      limits: {
        fileSize: opts.maxFileBytes,
        files: MAX_FILES,
        fields: MAX_FIELDS,
        fieldSize: MAX_FIELD_BYTES,
      },
    })) {
      if (part.type === "file") {
        const fieldname = REPEATABLE.has(part.fieldname)
          ? `${listName(part.fieldname)}[${Object.keys(files).filter((k) => k.startsWith(`${listName(part.fieldname)}[`)).length}]`
          : part.fieldname;
        if (fieldname in files)
          throw errors.invalidField(fieldname, `File '${fieldname}' is given more than once`);
        const path = join(opts.spoolDir, randomUUID());
        spooled.push(path);
        let bytes = 0;
        const hash = createHash("sha256");
        part.file.on("data", (c: Buffer) => {
          bytes += c.length;
          hash.update(c);
        });
        await pipeline(part.file, createWriteStream(path));
        if (part.file.truncated) {
          throw errors.invalidField(
            part.fieldname,
            `The file '${part.fieldname}' is larger than ${opts.maxFileBytes} bytes`,
          );
        }
        files[fieldname] = {
          path,
          filename: part.filename,
          mimetype: part.mimetype,
          bytes,
          sha256: hash.digest("hex"),
        };
      } else {
        if (typeof part.value !== "string")
          throw errors.invalidField(part.fieldname, "Form fields must be text");
        // The parser cuts a longer field short: refuse it rather than store half of it.
        if (part.valueTruncated) throw errors.fieldTooLarge(part.fieldname, MAX_FIELD_BYTES);
        setField(fields, part.fieldname, part.value);
      }
    }
  } catch (e) {
    await discard();
    const code = (e as { code?: string }).code;
    if (code === "FST_FILES_LIMIT" || code === "FST_FIELDS_LIMIT" || code === "FST_PARTS_LIMIT") {
      throw errors.invalidField("", "The form has too many parts");
    }
    if (!code && /boundary/i.test((e as Error).message))
      throw errors.invalidField("Content-Type", "multipart/form-data needs a boundary parameter");
    if (code === "FST_REQ_FILE_TOO_LARGE")
      throw errors.invalidField("", `A file is larger than ${opts.maxFileBytes} bytes`);
    throw e;
  }
  return { fields: plain(fields), files, discard };
}
