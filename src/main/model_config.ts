/**
 * The model catalogue from REELAY_CONFIG_FILE: the built-in entries, then the file's `models`
 * applied in order by name — an entry with a built-in's name overrides the fields it gives,
 * `extends` starts a new model from another, `remove: true` takes one out, and any other name is a
 * new model (it must give `family`, `sizes`, `durations` and `maxImages`). Errors name the entry.
 */
import { z } from "zod";
import { INPUT_NAMES, type ModelCapability, SIZES } from "../core/catalogue/models.js";
import { UPSTREAM_KINDS } from "../core/upstream/ports.js";
import { ConfigError } from "./config_parts.js";

const ASPECT = /^\d{1,2}:\d{1,2}$/;
const RESOLUTION = /^\d{3,4}p$/;

/** What a model accepts beyond the seed's fields (see ModelAccepts). */
const acceptsSchema = z.strictObject({
  aspectRatios: z.array(z.string().regex(ASPECT, "must be W:H, e.g. 16:9")).min(1),
  aspectFromFirstFrame: z.boolean().optional(),
  resolutions: z.array(z.string().regex(RESOLUTION, "must be like 720p")).min(1),
  firstFrame: z.boolean(),
  lastFrame: z.boolean(),
  referenceImages: z.int().min(0).max(16),
  referenceVideo: z.boolean().default(false),
  audio: z.enum(["none", "optional", "always"]),
  seed: z.boolean(),
  negativePrompt: z.boolean(),
});

const upstreamIdSchema = z.union([
  z.string().min(1).max(200),
  z.strictObject({ textToVideo: z.string().min(1).max(200), imageToVideo: z.string().min(1).max(200) }),
]);

const creditsBy = z.record(
  z.union([z.string().regex(RESOLUTION, "must be a resolution like 720p"), z.literal("*")]),
  z.number().min(0).max(1_000_000),
);

/** Credits per second of delivered video, by resolution (`*`: any); `withAudio` when sound is made. */
const priceSchema = z.strictObject({
  perSecond: creditsBy,
  withAudio: creditsBy.optional(),
  /** The provider's US$ per million output tokens (shown as its cost on a settled task). */
  usdPerMillionTokens: z.number().min(0).max(1_000_000).optional(),
});

export const modelEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be letters, digits, '.', '_' or '-' (at most 64)"),
  /** Start from this model (built in or listed earlier). */
  extends: z.string().min(1).optional(),
  /** Take the named model out of the catalogue. */
  remove: z.literal(true).optional(),
  family: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/)
    .optional(),
  sizes: z.array(z.enum(SIZES)).min(1).optional(),
  durations: z.array(z.number().int().min(1).max(600)).min(1).optional(),
  maxImages: z.number().int().min(0).max(16).optional(),
  videoSizes: z.array(z.string().regex(/^\d{2,4}x\d{2,4}$/, "must be WxH, e.g. 1280x720")).optional(),
  videoSeconds: z.array(z.number().int().min(1).max(600)).optional(),
  accepts: acceptsSchema.optional(),
  upstream: z.partialRecord(z.enum(UPSTREAM_KINDS), upstreamIdSchema).optional(),
  price: priceSchema.optional(),
  /** Upstream attempts a task may make in all before it fails (1: no failover after acceptance). */
  failover: z.strictObject({ maxAttempts: z.int().min(1).max(10) }).optional(),
  inputs: z
    .strictObject({
      fields: z.partialRecord(z.enum(INPUT_NAMES), z.string().min(1).max(100)),
      fixed: z.record(z.string().min(1).max(100), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .optional(),
});
export type ModelEntry = z.infer<typeof modelEntrySchema>;

/** Drops undefined fields (the catalogue's types have no optional-undefined). */
const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export function buildCatalogue(
  builtins: readonly ModelCapability[],
  entries: readonly ModelEntry[],
  where: string,
): ModelCapability[] {
  const table = new Map(builtins.map((m) => [m.name, m]));
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const at = `models[${i}] ('${entry.name}')`;
    const fail = (msg: string) => new ConfigError(`REELAY_CONFIG_FILE ${where}: ${at}: ${msg}`);
    if (seen.has(entry.name)) throw fail("the name is listed twice");
    seen.add(entry.name);
    const { name, extends: base, remove, ...fields } = entry;
    if (remove) {
      if (Object.values(fields).some((v) => v !== undefined) || base)
        throw fail("'remove' takes no other field");
      if (!table.delete(name)) throw fail("there is no such model to remove");
      return;
    }
    let from: ModelCapability | undefined;
    if (base !== undefined) {
      from = table.get(base);
      if (!from) throw fail(`'extends' names '${base}', which is not in the catalogue (yet)`);
      if (table.has(name)) throw fail(`'${name}' already exists: override it by name, without 'extends'`);
    } else from = table.get(name);
    if (!from) {
      const missing = (["family", "sizes", "durations", "maxImages"] as const).filter(
        (k) => fields[k] === undefined,
      );
      if (missing.length > 0)
        throw fail(`a new model needs ${missing.join(", ")} (or 'extends' naming a model to start from)`);
    }
    const merged = {
      videoSizes: [],
      videoSeconds: [],
      ...from,
      ...defined(fields),
      name,
    } as ModelCapability;
    if (
      merged.accepts &&
      merged.maxImages > 0 &&
      !merged.accepts.firstFrame &&
      !merged.accepts.lastFrame &&
      merged.accepts.referenceImages === 0
    )
      throw fail(
        "maxImages is above 0 but accepts takes no image (no first frame, last frame or references)",
      );
    table.set(name, merged);
  });
  if (table.size === 0) throw new ConfigError(`REELAY_CONFIG_FILE ${where}: the model catalogue is empty`);
  return [...table.values()];
}
