/** `reelay status | ls | download | cancel`: the caller's own videos. */
import type { Command } from "commander";
import { intArg, taskStatusArg, userPath } from "../args.js";
import type { CliContext } from "../context.js";
import { EXIT, table } from "../output.js";

export function registerVideoCommands(p: Command, ctx: CliContext): void {
  p.command("status <id>")
    .description("a task's status")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const t = await ctx.client().queryVideo(id);
      ctx.print(
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
      const page = await ctx.client().listTasks({
        limit: o.limit,
        ...(o.status ? { status: o.status } : {}),
        ...(o.after ? { after: o.after } : {}),
      });
      ctx.print(
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
        ctx.env,
        o.out ?? `${id.replace(/[^A-Za-z0-9_-]/g, "_")}.${o.variant === "video" ? "mp4" : "jpg"}`,
      );
      await ctx.save(id, path, o.variant);
      ctx.out(path);
    });

  p.command("cancel <id>")
    .description("cancel a pending or running task")
    .option("--json", "machine-readable output")
    .action(async (id: string, o) => {
      const t = await ctx.client().cancelVideo(id);
      ctx.print(o.json, t, `${t.id} ${t.status}`);
    });
}
