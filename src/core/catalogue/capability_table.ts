/**
 * The capability table as people read it, generated from the model table so that the docs cannot
 * drift from what create accepts: Markdown for the README (`npm run docs:models` writes it between
 * the markers below; a test fails when README differs) and lines for the CLI's `create --help`.
 */
import { dimensions, type ModelCapability, type SizeName } from "./models.js";

export const TABLE_START = "<!-- capability-table:start (npm run docs:models) -->";
export const TABLE_END = "<!-- capability-table:end -->";

const list = (xs: readonly (string | number)[]): string => xs.join(", ");
const code = (xs: readonly (string | number)[]): string => xs.map((x) => `\`${x}\``).join(", ");

/** `small` → `small` = 720p (720×1280 / 1280×720): what a size name means in pixels. */
function sizeLegend(size: SizeName): string {
  const p = dimensions("portrait", size);
  const l = dimensions("landscape", size);
  return `\`${size}\` = ${p.width}p (${p.width}×${p.height} / ${l.width}×${l.height})`;
}

/** `gemini: veo-3.1-generate-preview`; text/image ids apart where the provider names them so. */
function upstreamIds(m: ModelCapability): string {
  const ids = Object.entries(m.upstream ?? {}).map(([kind, id]) =>
    typeof id === "string"
      ? `${kind}: \`${id}\``
      : `${kind}: \`${id.textToVideo}\` / \`${id.imageToVideo}\` (with a first frame)`,
  );
  return ids.length > 0 ? ids.join("; ") : "local renderer, `unified`, `openai` (under its own name)";
}

const yes = (b: boolean): string => (b ? "yes" : "—");

/** What the model takes beyond the seed's fields, one cell per addition. */
function acceptsCells(m: ModelCapability): string[] {
  const a = m.accepts;
  if (!a) return ["—", "—", "first frame + references", "—", "—", "—"];
  const images = [
    a.firstFrame ? "first frame" : null,
    a.lastFrame ? "last frame" : null,
    a.referenceImages > 0 ? `${a.referenceImages} reference${a.referenceImages > 1 ? "s" : ""}` : null,
    a.referenceVideo ? "reference video" : null,
  ].filter(Boolean);
  return [
    a.aspectFromFirstFrame
      ? `${code(a.aspectRatios)} (with a first frame: the image's)`
      : code(a.aspectRatios),
    code(a.resolutions),
    images.join(", ") || "none",
    a.audio === "none" ? "—" : a.audio,
    yes(a.seed),
    yes(a.negativePrompt),
  ];
}

/** `720p 2 · 1080p 4 (audio: …)` credits a second; — when the catalogue has no price. */
function priceCell(m: ModelCapability): string {
  if (!m.price) return "—";
  const rates = (t: Readonly<Record<string, number>>) =>
    Object.entries(t)
      .map(([res, c]) => `${res} ${c}`)
      .join(" · ");
  return m.price.withAudio
    ? `${rates(m.price.perSecond)}; with sound ${rates(m.price.withAudio)}`
    : rates(m.price.perSecond);
}

/**
 * The README's tables: what each model takes through each API, then what it accepts beyond the
 * seed's fields, where it is served and its catalogue price.
 */
export function capabilityTableMarkdown(models: readonly ModelCapability[]): string {
  const sizes = [...new Set(models.flatMap((m) => m.sizes))];
  return [
    "| model | family (id prefix) | `size` | `duration` (s) | `images` at most | OpenAI `size` | OpenAI `seconds` |",
    "|---|---|---|---|---|---|---|",
    ...models.map(
      (m) =>
        `| \`${m.name}\` | \`${m.family}\` | ${code(m.sizes)} | ${list(m.durations)} | ${m.maxImages} | ${code(m.videoSizes) || "—"} | ${list(m.videoSeconds) || "—"} |`,
    ),
    "",
    `Sizes: ${sizes.map(sizeLegend).join("; ")}. A value not in a model's row is refused with 400 naming the field.`,
    "",
    "| model | `aspect_ratio` | `resolution` | input images | `audio` | `seed` | `negative_prompt` | served by (kind: upstream id) | price (credits/s) |",
    "|---|---|---|---|---|---|---|---|---|",
    ...models.map(
      (m) => `| \`${m.name}\` | ${[...acceptsCells(m), upstreamIds(m), priceCell(m)].join(" | ")} |`,
    ),
    "",
    'A model with upstream ids is offered only where a channel of one of those kinds serves it (`models: "*"` or naming it).',
  ].join("\n");
}

/** README with its table replaced by `table`; undefined when a marker is missing. */
export function withCapabilityTable(readme: string, table: string): string | undefined {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return `${readme.slice(0, start + TABLE_START.length)}\n${table}\n${readme.slice(end)}`;
}

/** For `reelay create --help`: each model with the sizes and durations the unified API takes. */
export function capabilityHelp(models: readonly ModelCapability[]): string {
  const rows = models.map((m) => [
    m.name,
    `--size ${m.sizes.join("|")}`,
    `--duration ${m.durations.join("|")}`,
  ]);
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => r[i]?.length ?? 0)));
  return [
    "Models (the server's default capability table; a server may configure another):",
    ...rows.map(([name = "", size = "", duration = ""]) =>
      `  ${name.padEnd(widths[0] ?? 0)}  ${size.padEnd(widths[1] ?? 0)}  ${duration}`.trimEnd(),
    ),
  ].join("\n");
}
