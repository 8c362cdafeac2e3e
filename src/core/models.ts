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
}

export type ModelTable = ReadonlyMap<string, ModelCapability>;

export const DEFAULT_MODELS: readonly ModelCapability[] = [
  { name: "sora-2", family: "sora-2", sizes: ["small"], durations: [10, 15], maxImages: 4 },
  { name: "sora-2-pro", family: "sora-2", sizes: ["small", "large"], durations: [10, 15, 25], maxImages: 4 },
  { name: "sora-2-all", family: "sora-2", sizes: ["small"], durations: [10, 15], maxImages: 4 },
  {
    name: "sora-2-pro-all",
    family: "sora-2",
    sizes: ["small", "large"],
    durations: [10, 15, 25],
    maxImages: 4,
  },
];

export const modelTable = (models: readonly ModelCapability[]): ModelTable =>
  new Map(models.map((m) => [m.name, m]));

/** Pixel dimensions for a size name: `small` is 720p, `large` is 1080p (the seed's field note). */
export function dimensions(orientation: Orientation, size: SizeName): { width: number; height: number } {
  const [long, short] = size === "large" ? [1920, 1080] : [1280, 720];
  return orientation === "portrait" ? { width: short, height: long } : { width: long, height: short };
}
