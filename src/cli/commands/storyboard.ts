/** `reelay storyboard <file.json>`: make one video from up to 10 shots described in a JSON file. */
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import type { StoryboardParams } from "../../client/index.js";
import { imageArg, UsageError, userPath } from "../args.js";
import type { CliContext } from "../context.js";
import { waitAndSave } from "./create.js";

/** The file's storyboard, with each shot's local image files sent inline (links stay links). */
async function readStoryboard(file: string, env: NodeJS.ProcessEnv): Promise<StoryboardParams> {
  let body: unknown;
  try {
    body = JSON.parse(await readFile(userPath(env, file), "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") throw e;
    throw new UsageError(`${file}: not JSON (${(e as Error).message})`);
  }
  const shots = (body as { shots?: unknown }).shots;
  if (body === null || typeof body !== "object" || !Array.isArray(shots))
    throw new UsageError(`${file}: a storyboard is a JSON object with a "shots" array`);
  const withImages = await Promise.all(
    shots.map(async (shot: unknown) => {
      const images = (shot as { images?: unknown })?.images;
      if (!Array.isArray(images)) return shot;
      return {
        ...(shot as object),
        images: await Promise.all(images.map((i) => (typeof i === "string" ? imageArg(i, env) : i))),
      };
    }),
  );
  return { ...(body as StoryboardParams), shots: withImages as StoryboardParams["shots"] };
}

export function registerStoryboardCommand(p: Command, ctx: CliContext): void {
  p.command("storyboard")
    .description("make one video from shots made in order (POST /v1/video/storyboards)")
    .argument(
      "<file>",
      'a JSON storyboard: {"model", "orientation", "size", "shots": [{"prompt", "duration"}, …]}',
    )
    .option("--dry-run", "only say what it would cost")
    .option("--wait", "wait until the film is joined, with a progress bar")
    .option("--out <file>", "save the MP4 here (implies --wait)")
    .option("--json", "machine-readable output")
    .action(async (file: string, o) => {
      const c = ctx.client();
      const body = await readStoryboard(file, ctx.env);
      if (o.dryRun) {
        const q = await c.quoteStoryboard(body);
        const shots = q.shots.map((s) => `  shot ${s.index}: ${s.model}, ${s.duration} s: ${s.price ?? "-"}`);
        return ctx.print(o.json, q, [`price: ${q.price ?? "no billing"}`, ...shots].join("\n"));
      }
      const created = await c.createStoryboard({ ...body, dry_run: false });
      if (!o.wait && o.out === undefined) return ctx.print(o.json, created, created.id);
      await waitAndSave(ctx, c, created.id, o);
    });
}
