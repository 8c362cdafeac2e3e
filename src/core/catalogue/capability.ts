/**
 * What a model is and accepts: the catalogue's types (the built-in entries are in models.ts and
 * builtin/*.ts, one file per provider kind).
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
  /**
   * For providers whose every model names its own input fields (fal, Replicate): the provider's
   * field for each of Reelay's inputs, and fixed values sent with every request.
   */
  readonly inputs?: ModelInputs;
  /** Its price, where the catalogue gives one (the price table's entries come first). */
  readonly price?: ModelPrice;
  /**
   * Failover after acceptance: upstream attempts a task of this model may make in all (the first
   * included) before it fails; absent: DEFAULT_FAILOVER_ATTEMPTS. 1 turns failover off.
   */
  readonly failover?: { readonly maxAttempts: number };
}

/** Upstream attempts a task may make in all, where its model does not say (README: *Failover*). */
export const DEFAULT_FAILOVER_ATTEMPTS = 3;

/**
 * Credits per second of delivered video, by resolution (`720p`, or `*` for any); `withAudio`
 * replaces `perSecond` when the video has sound.
 */
export interface ModelPrice {
  readonly perSecond: Readonly<Record<string, number>>;
  readonly withAudio?: Readonly<Record<string, number>>;
  /**
   * The provider's own list price in US dollars per million output tokens, for a provider that
   * bills tokens and reports them (Seedance): a settled task then shows the provider's cost.
   */
  readonly usdPerMillionTokens?: number;
}

/** What a model accepts (from its provider's documentation). */
export interface ModelAccepts {
  /** Aspect ratios it makes, `W:H` (`16:9`, `9:16`, `1:1`). */
  readonly aspectRatios: readonly string[];
  /**
   * With a first frame, the video takes the image's aspect ratio (Hailuo): the asked orientation
   * or aspect ratio is then not held against `aspectRatios`.
   */
  readonly aspectFromFirstFrame?: boolean;
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

/** Reelay's inputs that a provider-specific model may name its own way. */
export const INPUT_NAMES = [
  "prompt",
  "firstFrame",
  "lastFrame",
  "referenceImages",
  "duration",
  "aspectRatio",
  "resolution",
  "negativePrompt",
  "seed",
  "audio",
] as const;
export type InputName = (typeof INPUT_NAMES)[number];

export interface ModelInputs {
  /** The provider's field for each input the model takes (absent: not sent). */
  readonly fields: Readonly<Partial<Record<InputName, string>>>;
  /** Extra fields sent as they are (`{"enable_safety_checker": true}`). */
  readonly fixed?: Readonly<Record<string, string | number | boolean>>;
}
