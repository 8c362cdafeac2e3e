/** `reelay models`: the server's models and what each accepts (GET /v1/models). */
import type { Command } from "commander";
import type { ModelListResponse } from "../../client/index.js";
import type { CliContext } from "../context.js";
import { table } from "../output.js";

type Capabilities = ModelListResponse["data"][number]["capabilities"];

const list = (xs: readonly (string | number)[]): string => (xs.length > 0 ? xs.join(",") : "-");

/** The images a model takes, as flags: first frame, last frame, references. */
function images(c: Capabilities): string {
  const parts = [
    c.first_frame ? "first" : null,
    c.last_frame ? "last" : null,
    c.reference_images > 0 ? `refs<=${c.reference_images}` : null,
  ].filter((x) => x !== null);
  return `${parts.length > 0 ? parts.join("+") : "-"} (max ${c.max_images})`;
}

/** The other additions it takes: seed, negative prompt, audio. */
function extras(c: Capabilities): string {
  const parts = [
    c.seed ? "seed" : null,
    c.negative_prompt ? "negative-prompt" : null,
    c.audio === "none" ? null : `audio:${c.audio}`,
  ].filter((x) => x !== null);
  return parts.length > 0 ? parts.join(" ") : "-";
}

export function registerModelsCommand(p: Command, ctx: CliContext): void {
  p.command("models")
    .description("the server's models and what each accepts (sizes, durations, aspect ratios, images, seed…)")
    .option("--json", "machine-readable output")
    .action(async (o) => {
      const models = (await ctx.client().listModels()).data;
      ctx.print(
        o.json,
        models,
        table([
          ["MODEL", "SIZE", "DURATION", "ASPECT", "RESOLUTION", "IMAGES", "ALSO"],
          ...models.map((m) => {
            const c = m.capabilities;
            return [
              m.id,
              list(c.sizes),
              list(c.durations),
              list(c.aspect_ratios),
              list(c.resolutions),
              images(c),
              extras(c),
            ];
          }),
        ]),
      );
    });
}
