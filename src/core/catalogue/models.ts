/**
 * The model capability table: which sizes, durations and how many images each model accepts.
 * The default table is below; a config file may replace it (see src/main/config.ts).
 */

import { DASHSCOPE_MODELS } from "./builtin/dashscope.js";
import { FAL_MODELS } from "./builtin/fal.js";
import { GEMINI_MODELS } from "./builtin/gemini.js";
import { KLING_MODELS } from "./builtin/kling.js";
import { LUMA_MODELS } from "./builtin/luma.js";
import { MINIMAX_MODELS } from "./builtin/minimax.js";
import { NEWAPI_MODELS } from "./builtin/newapi.js";
import { OPENROUTER_MODELS } from "./builtin/openrouter.js";
import { REPLICATE_MODELS } from "./builtin/replicate.js";
import { RUNWAY_MODELS } from "./builtin/runway.js";
import { SEEDANCE_MODELS } from "./builtin/seedance.js";
import { XAI_MODELS } from "./builtin/xai.js";
import type { ModelCapability, Orientation, SizeName } from "./capability.js";

export * from "./capability.js";

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
  ...SEEDANCE_MODELS,
  ...DASHSCOPE_MODELS,
  ...KLING_MODELS,
  ...GEMINI_MODELS,
  ...MINIMAX_MODELS,
  ...LUMA_MODELS,
  ...XAI_MODELS,
  ...NEWAPI_MODELS,
  ...REPLICATE_MODELS,
  ...RUNWAY_MODELS,
  ...OPENROUTER_MODELS,
  ...FAL_MODELS,
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
