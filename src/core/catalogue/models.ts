/**
 * The model capability table: which sizes, durations and how many images each model accepts.
 * The default table is below; a config file may replace it (see src/main/config.ts).
 */
export const ORIENTATIONS = ["portrait", "landscape"] as const;
export type Orientation = (typeof ORIENTATIONS)[number];

export const SIZES = ["small", "large"] as const;
export type SizeName = (typeof SIZES)[number];

export interface ModelCapability {
  /** Model name as clients send it, e.g. `sora-2-pro`. */
  readonly name: string;
  /** Prefix of task ids (`sora-2:task_…`): the model family. */
  readonly family: string;
  readonly sizes: readonly SizeName[];
  /** Allowed durations in seconds. */
  readonly durations: readonly number[];
  readonly maxImages: number;
  /** Sizes (`WxH`) OpenAI-style requests may ask for. */
  readonly videoSizes: readonly string[];
  /** Seconds OpenAI-style requests may ask for. */
  readonly videoSeconds: readonly number[];
  /** What the model accepts beyond the seed's fields; absent: only those (the sora-2 family). */
  readonly accepts?: ModelAccepts;
  /**
   * The model's id at each upstream kind that serves it (`gemini: "veo-3.1-generate-preview"`);
   * a channel's `models` map overrides it, and without either the model's own name is sent.
   */
  readonly upstream?: Readonly<Record<string, UpstreamModelId>>;
}

/** What a model accepts (from its provider's documentation). */
export interface ModelAccepts {
  /** Aspect ratios it makes, `W:H` (`16:9`, `9:16`, `1:1`). */
  readonly aspectRatios: readonly string[];
  /** Resolutions it makes, by their short side: `480p`, `720p`, `1080p`. */
  readonly resolutions: readonly string[];
  readonly firstFrame: boolean;
  readonly lastFrame: boolean;
  /** How many reference images it takes (0: none). */
  readonly referenceImages: number;
  readonly referenceVideo: boolean;
  /** Whether its videos have sound: never, when asked, or always. */
  readonly audio: "none" | "optional" | "always";
  readonly seed: boolean;
  readonly negativePrompt: boolean;
}

/** One id, or one per mode where the provider names text-to-video and image-to-video apart. */
export type UpstreamModelId = string | { readonly textToVideo: string; readonly imageToVideo: string };

export type ModelTable = ReadonlyMap<string, ModelCapability>;

const SORA_2 = {
  family: "sora-2",
  sizes: ["small"],
  durations: [10, 15],
  maxImages: 4,
  videoSizes: ["720x1280", "1280x720"],
  videoSeconds: [4, 8, 12],
} as const;
const SORA_2_PRO = {
  family: "sora-2",
  sizes: ["small", "large"],
  durations: [10, 15, 25],
  maxImages: 4,
  videoSizes: ["720x1280", "1280x720", "1024x1792", "1792x1024"],
  videoSeconds: [4, 8, 12],
} as const;

export const DEFAULT_MODELS: readonly ModelCapability[] = [
  { name: "sora-2", ...SORA_2 },
  { name: "sora-2-pro", ...SORA_2_PRO },
  // Names other relays of the unified format accept, and OpenAI's dated snapshots.
  { name: "sora-2-all", ...SORA_2 },
  { name: "sora-2-pro-all", ...SORA_2_PRO },
  { name: "sora-2-2025-10-06", ...SORA_2 },
  { name: "sora-2-2025-12-08", ...SORA_2 },
  { name: "sora-2-pro-2025-10-06", ...SORA_2_PRO },
];

/** `1024x1792` → its pixel size, or undefined when the text is not `WxH`. */
export function parseSize(size: string): { width: number; height: number } | undefined {
  const m = /^(\d{2,5})x(\d{2,5})$/.exec(size);
  if (!m) return undefined;
  return { width: Number(m[1]), height: Number(m[2]) };
}

export const modelTable = (models: readonly ModelCapability[]): ModelTable =>
  new Map(models.map((m) => [m.name, m]));

/** Pixel dimensions for a size name: `small` is 720p, `large` is 1080p (the seed's field note). */
export function dimensions(orientation: Orientation, size: SizeName): { width: number; height: number } {
  const [long, short] = size === "large" ? [1920, 1080] : [1280, 720];
  return orientation === "portrait" ? { width: short, height: long } : { width: long, height: short };
}
