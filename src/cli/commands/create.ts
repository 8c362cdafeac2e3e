/** `reelay create`: make a video, optionally waiting with a progress bar and saving the MP4. */
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { ReelayClient, VideoQueryResponse } from "../../client/index.js";
import { capabilityHelp } from "../../core/catalogue/capability_table.js";
import { DEFAULT_MODELS } from "../../core/catalogue/models.js";
import { imageArg, intArg, userPath } from "../args.js";
import type { CliContext } from "../context.js";
import { EXIT } from "../output.js";

export function registerCreateCommand(p: Command, ctx: CliContext): void {
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
      const c = ctx.client();
      const created = await c.createVideo({
        model: o.model,
        prompt: o.prompt,
        orientation: o.orientation,
        size: o.size,
        duration: o.duration,
        images: await Promise.all((o.image as string[]).map((i) => imageArg(i, ctx.env))),
        watermark: o.watermark,
        private: Boolean(o.private),
      });
      // --out asks for the file, which only exists once the task is done: it waits too.
      if (!o.wait && o.out === undefined) return ctx.print(o.json, created, created.id);
      const final = await waitWithProgress(ctx, c, created.id, Boolean(o.json));
      if (final.status !== "completed") {
        ctx.print(o.json, final, `${final.id} ${final.status}: ${final.error?.message ?? ""}`);
        process.exitCode = EXIT.taskFailed;
        return;
      }
      const savedTo = o.out === undefined ? null : userPath(ctx.env, o.out);
      if (savedTo) await ctx.save(final.id, savedTo);
      ctx.print(
        o.json,
        { ...final, saved_to: savedTo },
        savedTo ? `${final.id} completed → ${savedTo}` : `${final.id} completed: ${final.video_url}`,
      );
    });
}

/** Waits for the task with a bar on a terminal; without one (CI, a log file) a line per change. */
async function waitWithProgress(
  ctx: CliContext,
  c: ReelayClient,
  id: string,
  json: boolean,
): Promise<VideoQueryResponse> {
  const bar =
    json || !process.stderr.isTTY
      ? null
      : new SingleBar({ format: " {bar} {percentage}% | {status}", stream: process.stderr });
  bar?.start(100, 0, { status: "pending" });
  let last = "";
  const final = await c.waitFor(id, {
    onProgress: (t) => {
      bar?.update(t.progress, { status: t.status });
      const line = `${t.id} ${t.status} ${t.progress}%`;
      if (!bar && !json && line !== last) ctx.err(line);
      last = line;
    },
  });
  bar?.stop();
  return final;
}
