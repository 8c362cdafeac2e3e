/** `reelay create`: make a video, optionally waiting with a progress bar and saving the MP4. */
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import type { CreateVideoParams, ReelayClient, VideoQueryResponse } from "../../client/index.js";
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
    .option("--orientation <o>", "portrait | landscape (default portrait, unless --aspect-ratio says it)")
    .option(
      "--size <s>",
      "small (720p) | large (1080p); not every model takes both (below); default small, unless --resolution says it",
    )
    .option("--duration <seconds>", "seconds", intArg, 10)
    .option(
      "--image <url|file>",
      "an image link or a local image file (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--aspect-ratio <w:h>", "e.g. 16:9, 9:16, 1:1 (models that take it: `reelay models`)")
    .option("--resolution <p>", "e.g. 480p, 720p, 1080p")
    .option("--last-frame <url|file>", "the video's last frame: an image link or a local image file")
    .option(
      "--reference-image <url|file>",
      "an image the video should follow (repeatable)",
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option("--negative-prompt <text>", "what the video should not show")
    .option("--seed <n>", "a seed, 0 to 4294967295, for repeatable results", intArg)
    .option("--audio", "make sound (models with optional audio)")
    .option("--no-audio", "make no sound")
    .option("--private", "never published, never remixed")
    .option("--no-watermark", "the video must be clean")
    .option("--wait", "wait until it is done, with a progress bar (a line per change when not a terminal)")
    .option("--out <file>", "save the MP4 here (waits for it: implies --wait)")
    .option("--json", "machine-readable output")
    .option(
      "--dry-run",
      "show the price, the channel it would use and whether your balance covers it; create nothing",
    )
    .addHelpText("after", `\n${capabilityHelp(DEFAULT_MODELS)}`)
    .action(async (o) => {
      const c = ctx.client();
      const params = {
        model: o.model,
        prompt: o.prompt,
        duration: o.duration,
        images: await Promise.all((o.image as string[]).map((i) => imageArg(i, ctx.env))),
        watermark: o.watermark,
        private: Boolean(o.private),
        ...(await additionsOf(o, ctx.env)),
      };
      if (o.dryRun) {
        const q = await c.quoteVideo(params);
        const money = q.billing
          ? `${q.price} credits (${q.breakdown?.rule}, ${q.breakdown?.seconds} s); balance ${q.balance}${q.covered ? "" : `, ${q.shortfall} short`}`
          : "free (billing is off)";
        return ctx.print(o.json, q, `${money}; channel ${q.channel?.id ?? "none now"} (${q.channel_note})`);
      }
      const created = await c.createVideo(params);
      // --out asks for the file, which only exists once the task is done: it waits too.
      if (!o.wait && o.out === undefined) return ctx.print(o.json, created, created.id);
      await waitAndSave(ctx, c, created.id, o);
    });
}

/**
 * The frame and the optional additions as the unified API takes them. The seed's defaults
 * (portrait, small) apply only where --aspect-ratio / --resolution do not say otherwise.
 */
async function additionsOf(
  o: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Promise<Partial<CreateVideoParams>> {
  const str = (k: string): string | undefined => (typeof o[k] === "string" ? (o[k] as string) : undefined);
  const ratio = str("aspectRatio");
  const resolution = str("resolution");
  const lastFrame = str("lastFrame");
  const refs = (o.referenceImage as string[] | undefined) ?? [];
  const out: Partial<CreateVideoParams> = {};
  const orientation = str("orientation") ?? (ratio === undefined ? "portrait" : undefined);
  const size = str("size") ?? (resolution === undefined ? "small" : undefined);
  if (orientation !== undefined) out.orientation = orientation as CreateVideoParams["orientation"];
  if (size !== undefined) out.size = size as CreateVideoParams["size"];
  if (ratio !== undefined) out.aspect_ratio = ratio;
  if (resolution !== undefined) out.resolution = resolution;
  if (lastFrame !== undefined) out.last_frame = await imageArg(lastFrame, env);
  if (refs.length > 0) out.reference_images = await Promise.all(refs.map((r) => imageArg(r, env)));
  if (str("negativePrompt") !== undefined) out.negative_prompt = str("negativePrompt") as string;
  if (typeof o.seed === "number") out.seed = o.seed;
  if (typeof o.audio === "boolean") out.audio = o.audio;
  return out;
}

/** Waits for the task (with a progress bar) and saves its MP4 at `o.out` when given; a failure sets the exit code. */
export async function waitAndSave(
  ctx: CliContext,
  c: ReelayClient,
  id: string,
  o: { json?: boolean; out?: string },
): Promise<void> {
  const final = await waitWithProgress(ctx, c, id, Boolean(o.json));
  if (final.status !== "completed") {
    ctx.print(Boolean(o.json), final, `${final.id} ${final.status}: ${final.error?.message ?? ""}`);
    process.exitCode = EXIT.taskFailed;
    return;
  }
  const savedTo = o.out === undefined ? null : userPath(ctx.env, o.out);
  if (savedTo) await ctx.save(final.id, savedTo);
  ctx.print(
    Boolean(o.json),
    { ...final, saved_to: savedTo },
    savedTo ? `${final.id} completed → ${savedTo}` : `${final.id} completed: ${final.video_url}`,
  );
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
