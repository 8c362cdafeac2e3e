#!/usr/bin/env node
/**
 * `reelay`: the command line for Reelay's API. Reads REELAY_URL (default http://localhost:8787),
 * REELAY_API_KEY, and REELAY_ADMIN_TOKEN for the `keys` commands.
 */
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { SingleBar } from "cli-progress";
import { Command, InvalidArgumentError } from "commander";
import { ReelayClient, type VideoQueryResponse } from "../client/index.js";
import { capabilityHelp } from "../core/capability_table.js";
import { DEFAULT_MODELS } from "../core/models.js";
import { TASK_STATUSES, type TaskStatus } from "../core/task.js";
import { isEntryPoint } from "../main/entry.js";
import { describeError, EXIT, exitCodeOf, table } from "./output.js";

const IMAGE_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
};

/** A mistake in how the command was called, found after parsing: exit code 2 with the message. */
class UsageError extends Error {}

/**
 * A path the user typed, made absolute against the directory they typed it in: `npm run cli`
 * runs in the package root, and npm keeps the user's directory in INIT_CWD.
 */
function userPath(env: NodeJS.ProcessEnv, path: string): string {
  return resolve(env.npm_lifecycle_event === "cli" && env.INIT_CWD ? env.INIT_CWD : process.cwd(), path);
}

/** A link stays a link; a local file is sent inline as a data URL. */
async function imageArg(value: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (/^https?:\/\//i.test(value)) return value;
  const type = IMAGE_TYPES[extname(value).toLowerCase()];
  if (!type) throw new UsageError(`--image ${value}: not a link, nor a .png/.jpg/.webp/.gif file`);
  return `data:${type};base64,${(await readFile(userPath(env, value))).toString("base64")}`;
}

const intArg = (v: string): number => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError("must be a whole number");
  return Number(v);
};

/** A task status; the OpenAI API's names for the waiting ones are taken too. */
const taskStatusArg = (v: string): TaskStatus => {
  const s = v === "queued" ? "pending" : v === "in_progress" ? "processing" : v;
  if (!(TASK_STATUSES as readonly string[]).includes(s)) {
    throw new InvalidArgumentError(`must be one of ${TASK_STATUSES.join(", ")}`);
  }
  return s as TaskStatus;
};

export function program(env: NodeJS.ProcessEnv, out: (s: string) => void, err: (s: string) => void): Command {
  const client = () =>
    new ReelayClient({
      baseUrl: env.REELAY_URL ?? "http://localhost:8787",
      apiKey: env.REELAY_API_KEY,
      adminToken: env.REELAY_ADMIN_TOKEN,
    });
  const print = (json: boolean, data: unknown, human: string) =>
    out(json ? JSON.stringify(data, null, 2) : human);

  const save = async (id: string, path: string, variant: "video" | "thumbnail" | "spritesheet" = "video") => {
    const res = await client().download(id, variant);
    if (!res.body) throw new Error("empty download");
    await pipeline(
      Readable.fromWeb(res.body as import("node:stream/web").ReadableStream),
      createWriteStream(userPath(env, path)),
    );
  };

  const p = new Command("reelay").description("Reelay: make videos through a Reelay server").exitOverride();
  p.configureOutput({ writeOut: out, writeErr: err });

  // Running Reelay itself (configured by the server's environment variables, see the README).
  for (const [role, what] of [
    ["serve", "run the API and web UI only (needs REELAY_DATABASE_URL; workers run apart)"],
    ["worker", "run jobs only (needs REELAY_DATABASE_URL)"],
    ["all", "run the API, web UI and worker in one process (what `npm start` runs)"],
  ] as const) {
    p.command(role)
      .description(what)
      .action(async () => {
        const { runProcess } = await import("../main/serve.js");
        await runProcess(role);
        // Runs until a signal: the process exits from its shutdown handler.
        await new Promise<never>(() => undefined);
      });
  }

  p.command("create")
    .description("create a video (unified API)")
    .requiredOption("--prompt <text>", "what the video shows")
    .option("--model <name>", "model", "sora-2")
    .option("--orientation <o>", "portrait | landscape", "portrait")
    .option("--size <s>", "small (720p) | large (1080p); not every model takes both (below)", "small")
    .option("--duration <seconds>", "seconds", intArg, 10)
    .option(
      "--image <url|file>",
      "an image link or a local image file (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--private", "never published, never remixed")
    .option("--no-watermark", "the video must be clean")
    .option("--wait", "wait until it is done, with a progress bar (a line per change when not a terminal)")
    .option("--out <file>", "save the MP4 here (waits for it: implies --wait)")
    .option("--json", "machine-readable output")
    .addHelpText("after", `\n${capabilityHelp(DEFAULT_MODELS)}`)
    .action(async (o) => {
      const c = client();
      const created = await c.createVideo({
        model: o.model,
        prompt: o.prompt,
        orientation: o.orientation,
        size: o.size,
        duration: o.duration,
        images: await Promise.all((o.image as string[]).map((i) => imageArg(i, env))),
        watermark: o.watermark,
        private: Boolean(o.private),
      });
      // --out asks for the file, which only exists once the task is done: it waits too.
      if (!o.wait && o.out === undefined) return print(o.json, created, created.id);
      const bar =
        o.json || !process.stderr.isTTY
          ? null
          : new SingleBar({ format: " {bar} {percentage}% | {status}", stream: process.stderr });
      bar?.start(100, 0, { status: "pending" });
      // Without a terminal (CI, a log file) a bar cannot redraw: one line per change instead.
      let last = "";
      const final: VideoQueryResponse = await c.waitFor(created.id, {
        onProgress: (t) => {
          bar?.update(t.progress, { status: t.status });
          const line = `${t.id} ${t.status} ${t.progress}%`;
          if (!bar && !o.json && line !== last) err(line);
          last = line;
        },
      });
      bar?.stop();
      if (final.status !== "completed") {
        print(o.json, final, `${final.id} ${final.status}: ${final.error?.message ?? ""}`);
        process.exitCode = EXIT.taskFailed;
        return;
      }
      const savedTo = o.out === undefined ? null : userPath(env, o.out);
      if (savedTo) await save(final.id, savedTo);
      print(
        o.json,
        { ...final, saved_to: savedTo },
        savedTo ? `${final.id} completed → ${savedTo}` : `${final.id} completed: ${final.video_url}`,
      );
    });

  p.command("status <id>")
    .description("a task's status")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const t = await client().queryVideo(id);
      print(
        o.json,
        t,
        `${t.id}  ${t.status}  ${t.progress}%${t.video_url ? `  ${t.video_url}` : ""}${t.error ? `  ${t.error.code}: ${t.error.message}` : ""}`,
      );
      if (t.status === "failed" || t.status === "cancelled") process.exitCode = EXIT.taskFailed;
    });

  p.command("ls")
    .description("your videos, newest first")
    .option("--limit <n>", "how many", intArg, 20)
    .option(
      "--status <s>",
      "only this status: pending, processing, completed, failed, cancelled (queued and in_progress also work)",
      taskStatusArg,
    )
    .option("--after <id>", "the page after this task id")
    .option("--json", "machine-readable output")
    .action(async (o) => {
      // Filtered by the server, so --limit counts tasks of that status.
      const page = await client().listTasks({
        limit: o.limit,
        ...(o.status ? { status: o.status } : {}),
        ...(o.after ? { after: o.after } : {}),
      });
      print(
        o.json,
        page.data,
        table([
          ["ID", "STATUS", "PROGRESS", "SIZE", "SECONDS", "PROMPT"],
          ...page.data.map((t) => [
            t.id,
            t.status,
            `${t.progress}%`,
            t.width && t.height ? `${t.width}x${t.height}` : t.detail.input.size,
            String(t.duration ?? t.detail.input.duration),
            t.detail.input.prompt.slice(0, 40),
          ]),
        ]),
      );
    });

  p.command("download <id>")
    .description("save a finished video")
    .option("--out <file>", "where to save it (default <id>.mp4)")
    .option("--variant <v>", "video | thumbnail | spritesheet", "video")
    .action(async (id: string, o) => {
      const path = userPath(
        env,
        o.out ?? `${id.replace(/[^A-Za-z0-9_-]/g, "_")}.${o.variant === "video" ? "mp4" : "jpg"}`,
      );
      await save(id, path, o.variant);
      out(path);
    });

  p.command("cancel <id>")
    .description("cancel a pending or running task")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const t = await client().cancelVideo(id);
      print(o.json, t, `${t.id} ${t.status}`);
    });

  const keys = p.command("keys").description("API keys (needs REELAY_ADMIN_TOKEN)");
  keys
    .command("create")
    .option("--name <name>", "a label")
    .option("--user <owner>", "the owner the key acts for (keys of one owner share tasks)")
    .option("--models <list>", "comma-separated models the key may use")
    .option("--expires-in <days>", "days until it stops working", intArg)
    .option("--credits <n>", "top up the owner's credits by n", intArg)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const k = await client().createKey({
        ...(o.name ? { name: o.name } : {}),
        ...(o.user ? { owner_id: o.user } : {}),
        ...(o.models
          ? {
              allowed_models: String(o.models)
                .split(",")
                .map((m: string) => m.trim()),
            }
          : {}),
        ...(o.expiresIn ? { expires_at: Math.floor(Date.now() / 1000) + o.expiresIn * 86_400 } : {}),
      });
      const account = o.credits ? await client().topUp(k.owner_id, o.credits) : undefined;
      print(
        o.json,
        { ...k, ...(account ? { balance: account.balance } : {}) },
        `${k.key}\n(id ${k.id}, owner ${k.owner_id}${account ? `, balance ${account.balance} credits` : ""}; shown once, keep it)`,
      );
    });
  keys
    .command("ls")
    .option("--user <owner>", "only this owner's keys")
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const list = await client().listKeys(o.user);
      const when = (s: number | null) => (s === null ? "-" : new Date(s * 1000).toISOString().slice(0, 16));
      print(
        o.json,
        list.data,
        table([
          ["ID", "NAME", "OWNER", "PREFIX", "EXPIRES", "REVOKED"],
          ...list.data.map((k) => [
            k.id,
            k.name,
            k.owner_id,
            k.prefix,
            when(k.expires_at),
            when(k.revoked_at),
          ]),
        ]),
      );
    });
  keys
    .command("revoke <id>")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const k = await client().revokeKey(id);
      print(o.json, k, `${k.id} revoked`);
    });
  const credits = p.command("credits").description("owners' credits (needs REELAY_ADMIN_TOKEN)");
  credits
    .command("add <owner> <amount>")
    .option("--json", "machine-readable output")
    .action(async (owner: string, amount: string, o) => {
      const a = await client().topUp(owner, intArg(amount));
      print(o.json, a, `${a.owner_id}: balance ${a.balance}, used ${a.used} credits`);
    });
  credits
    .command("show <owner>")
    .option("--json", "machine-readable output")
    .action(async (owner: string, o) => {
      const a = await client().account(owner);
      print(
        o.json,
        a,
        `${a.owner_id}: balance ${a.balance}, used ${a.used}, topped up ${a.topped_up} credits`,
      );
    });

  p.command("usage")
    .description("your balance and usage per day, key and model")
    .option("--days <n>", "days back", intArg, 30)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const u = await client().usage(o.days);
      print(
        o.json,
        u,
        `balance ${u.balance}, used ${u.used} credits${u.billing ? "" : " (billing is off)"}\n${table([
          ["DAY", "KEY", "MODEL", "CHARGED", "REFUNDED", "NET"],
          ...u.data.map((r) => [
            r.day,
            r.key_id ?? "-",
            r.model ?? "-",
            String(r.charged),
            String(r.refunded),
            String(r.net),
          ]),
        ])}`,
      );
    });

  p.command("tasks")
    .description("every owner's tasks (needs REELAY_ADMIN_TOKEN)")
    .command("ls")
    .option("--status <s>", "pending | processing | completed | failed | cancelled")
    .option("--user <owner>", "only this owner's tasks")
    .option("--limit <n>", "how many", intArg, 50)
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const list = await client().searchTasks({ status: o.status, ownerId: o.user, limit: o.limit });
      print(
        o.json,
        list.data,
        table([
          ["ID", "OWNER", "STATUS", "PROGRESS", "MODEL", "ERROR"],
          ...list.data.map((t) => [
            t.id,
            t.owner_id,
            t.status,
            `${t.progress}%`,
            t.detail.input.model,
            t.error?.code ?? "",
          ]),
        ]),
      );
    });
  return p;
}

export async function run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const p = program(
    env,
    (s) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`),
    (s) => process.stderr.write(s.endsWith("\n") ? s : `${s}\n`),
  );
  try {
    await p.parseAsync([...argv], { from: "user" });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "commander.helpDisplayed" || code === "commander.version") return EXIT.ok;
    if (code?.startsWith("commander.")) return EXIT.badRequest;
    if (e instanceof UsageError || (e as NodeJS.ErrnoException).code === "ENOENT") {
      process.stderr.write(`reelay: ${(e as Error).message}\n`);
      return EXIT.badRequest;
    }
    process.stderr.write(`reelay: ${describeError(e)}\n`);
    return exitCodeOf(e);
  }
}

if (isEntryPoint(import.meta.url)) {
  run(process.argv.slice(2), process.env).then((code) => process.exit(code));
}
