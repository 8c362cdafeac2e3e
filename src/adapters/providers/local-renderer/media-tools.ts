/**
 * Finds the ffmpeg and ffprobe binaries and the caption font, and reads media files back with ffprobe.
 * Nothing is resolved at import time: main/ calls resolveMediaTools once with the configured overrides.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, chmod, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { inputArgs, type MediaInput } from "./media-input.js";

export interface MediaTools {
  readonly ffmpegPath: string;
  readonly ffprobePath: string;
  /** A TrueType font drawtext can load on a machine without any system fonts. */
  readonly fontPath: string;
}

export interface ProbeStream {
  /** `video`, `audio`, … */
  readonly codecType: string;
  /** `h264`, `aac`, `mjpeg`, … */
  readonly codecName: string;
  readonly width?: number;
  readonly height?: number;
  /** The stream's own length in seconds, when ffprobe reports one. */
  readonly durationS?: number;
}

export interface ProbeResult {
  /** The container's duration; 0 when ffprobe reports none (a still image). */
  readonly durationS: number;
  readonly streams: readonly ProbeStream[];
}

const FONT_MODULE_PATH = "dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf";
/** ffprobe's JSON for one file is a few kB; anything far larger is not what we asked for. */
const MAX_PROBE_OUTPUT = 1024 * 1024;

/**
 * Resolves the three files the local renderer needs, making the binaries executable when an install
 * left them mode 644 (`npm ci --ignore-scripts` does that to @ffprobe-installer). Throws an Error naming
 * the missing or unusable file, so a misconfigured server fails at start-up, not on the first render.
 */
export async function resolveMediaTools(opts: {
  ffmpegPath?: string | undefined;
  ffprobePath?: string | undefined;
}): Promise<MediaTools> {
  const require = createRequire(import.meta.url);
  // An empty override (FFMPEG_PATH= in a .env file) means "not set", not "the binary named ''".
  const ffmpegPath = opts.ffmpegPath || packageBinary(require, "@ffmpeg-installer/ffmpeg", "ffmpeg");
  const ffprobePath = opts.ffprobePath || packageBinary(require, "@ffprobe-installer/ffprobe", "ffprobe");
  let fontPath: string;
  try {
    fontPath = require.resolve(FONT_MODULE_PATH);
  } catch (cause) {
    throw new Error(`Caption font not found: ${FONT_MODULE_PATH} (is dejavu-fonts-ttf installed?)`, {
      cause,
    });
  }
  await ensureExecutable("ffmpeg", ffmpegPath);
  await ensureExecutable("ffprobe", ffprobePath);
  await ensureReadableFile("caption font", fontPath);
  return { ffmpegPath, ffprobePath, fontPath };
}

/** The `.path` the installer package exports; its require throws (sometimes a bare string) when absent. */
function packageBinary(require: NodeJS.Require, pkg: string, label: string): string {
  let mod: unknown;
  try {
    mod = require(pkg);
  } catch (cause) {
    throw new Error(`${label} not found: package ${pkg} could not be loaded (${String(cause)})`, { cause });
  }
  const path = typeof mod === "object" && mod !== null ? (mod as { path?: unknown }).path : undefined;
  if (typeof path !== "string" || path === "") {
    throw new Error(`${label} not found: package ${pkg} exports no binary path`);
  }
  return path;
}

async function ensureReadableFile(label: string, path: string): Promise<void> {
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new Error("not a regular file");
    await access(path, constants.R_OK);
  } catch (cause) {
    throw new Error(`${label} not usable at ${path}: ${errorText(cause)}`, { cause });
  }
}

async function ensureExecutable(label: string, path: string): Promise<void> {
  await ensureReadableFile(label, path);
  if (await canExecute(path)) return;
  try {
    await chmod(path, 0o755);
  } catch (cause) {
    // Not the owner (a read-only or root-owned install): nothing to fix here; the check below decides.
    const code = (cause as NodeJS.ErrnoException).code;
    if (code !== "EPERM" && code !== "EACCES" && code !== "EROFS") throw cause;
  }
  if (!(await canExecute(path))) {
    throw new Error(`${label} at ${path} is not executable and could not be made so (chmod 0755 it)`);
  }
}

const canExecute = (path: string): Promise<boolean> =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Reads a media file's duration and streams with ffprobe, as the sniffed type's demuxer only (see
 * media-input.ts). Rejects with an Error carrying ffprobe's message when the file cannot be read as media.
 */
export async function probe(ffprobePath: string, file: MediaInput): Promise<ProbeResult> {
  const args = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", ...inputArgs(file)];
  const { code, stdout, stderr } = await run(ffprobePath, args);
  if (code !== 0) {
    throw new Error(`ffprobe could not read ${file.path} (exit ${code}): ${stderr.trim().slice(-500)}`);
  }
  return parseProbeJson(stdout);
}

/** Turns ffprobe's JSON into a ProbeResult, checking every field it uses. */
export function parseProbeJson(json: string): ProbeResult {
  const raw: unknown = JSON.parse(json);
  const root = asRecord(raw);
  const format = asRecord(root.format);
  const duration = Number(format.duration);
  const streams = Array.isArray(root.streams) ? root.streams : [];
  return {
    durationS: Number.isFinite(duration) ? duration : 0,
    streams: streams.map((s): ProbeStream => {
      const r = asRecord(s);
      const streamDuration = Number(r.duration);
      return {
        codecType: typeof r.codec_type === "string" ? r.codec_type : "unknown",
        codecName: typeof r.codec_name === "string" ? r.codec_name : "unknown",
        ...(typeof r.width === "number" ? { width: r.width } : {}),
        ...(typeof r.height === "number" ? { height: r.height } : {}),
        ...(typeof r.duration === "string" && Number.isFinite(streamDuration)
          ? { durationS: streamDuration }
          : {}),
      };
    }),
  };
}

const asRecord = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

function run(
  cmd: string,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout.length > MAX_PROBE_OUTPUT) child.kill("SIGKILL");
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-4096);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}
