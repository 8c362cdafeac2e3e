/** What the CLI's arguments mean: paths the user typed, images, whole numbers, task statuses. */
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { InvalidArgumentError } from "commander";
import { TASK_STATUSES, type TaskStatus } from "../core/tasks/task.js";

const IMAGE_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
};

/** A mistake in how the command was called, found after parsing: exit code 2 with the message. */
export class UsageError extends Error {}

/**
 * A path the user typed, made absolute against the directory they typed it in: `npm run cli`
 * runs in the package root, and npm keeps the user's directory in INIT_CWD.
 */
export function userPath(env: NodeJS.ProcessEnv, path: string): string {
  return resolve(env.npm_lifecycle_event === "cli" && env.INIT_CWD ? env.INIT_CWD : process.cwd(), path);
}

/** A link stays a link; a local file is sent inline as a data URL. */
export async function imageArg(value: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (/^https?:\/\//i.test(value)) return value;
  const type = IMAGE_TYPES[extname(value).toLowerCase()];
  if (!type) throw new UsageError(`--image ${value}: not a link, nor a .png/.jpg/.webp/.gif file`);
  return `data:${type};base64,${(await readFile(userPath(env, value))).toString("base64")}`;
}

export const intArg = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("must be a whole number");
  return Number(v);
};

/** A task status; the OpenAI API's names for the waiting ones are taken too. */
export const taskStatusArg = (v: string): TaskStatus => {
  const s = v === "queued" ? "pending" : v === "in_progress" ? "processing" : v;
  if (!(TASK_STATUSES as readonly string[]).includes(s)) {
    throw new InvalidArgumentError(`must be one of ${TASK_STATUSES.join(", ")}`);
  }
  return s as TaskStatus;
};
