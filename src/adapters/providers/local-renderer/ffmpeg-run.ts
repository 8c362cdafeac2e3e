/** Running ffmpeg for the local renderer: no shell, bounded stderr, progress, SIGKILL on abort. */
import { spawn } from "node:child_process";
import { errors, type ReelayError } from "../../../core/errors.js";

const STDERR_TAIL_CHARS = 8192;
const STDERR_TAIL_LINES = 5;

export interface FfmpegExit {
  /** Exit code; null when killed by a signal. */
  readonly code: number | null;
  readonly killedBy: NodeJS.Signals | null;
  readonly stderrTail: readonly string[];
}

/**
 * Runs ffmpeg without a shell. Keeps only the end of stderr; calls `onOutTimeS` with each
 * `out_time_us` of `-progress pipe:1`. SIGKILLs ffmpeg when `signal` aborts and then throws its reason.
 */
export function runFfmpeg(
  ffmpegPath: string,
  args: readonly string[],
  signal: AbortSignal,
  onOutTimeS?: (seconds: number) => void,
): Promise<FfmpegExit> {
  throwIfAborted(signal);
  return new Promise<FfmpegExit>((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    const kill = () => child.kill("SIGKILL");
    signal.addEventListener("abort", kill, { once: true });
    let stderr = "";
    let pending = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      // -progress writes short key=value lines; keep only the unfinished one between chunks.
      const lines = (pending + chunk).split("\n");
      pending = (lines.pop() ?? "").slice(-256);
      for (const line of lines) {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m?.[1] !== undefined && onOutTimeS) onOutTimeS(Number(m[1]) / 1e6);
      }
    });
    child.on("error", (e) => {
      signal.removeEventListener("abort", kill);
      // The message reaches users: the binary's path and the OS error stay in the cause, for the log.
      reject(errors.renderFailed("ffmpeg could not be started", { cause: e }));
    });
    child.on("close", (code, killedBy) => {
      signal.removeEventListener("abort", kill);
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const stderrTail = stderr.trimEnd().split("\n").slice(-STDERR_TAIL_LINES);
      resolve({ code, killedBy, stderrTail });
    });
  });
}

/**
 * How a run ended, in words a user may read: ffmpeg's stderr names the work dir, the data dir and the
 * inputs' paths, so it stays out (exitDetail carries it to the log as an error's cause).
 */
export const describeExit = (exit: FfmpegExit): string =>
  `ffmpeg ${exit.code === null ? `was killed by ${exit.killedBy ?? "a signal"}` : `exited with code ${exit.code}`}`;

/** The run's end and the tail of its stderr, as the cause of the error users see: for the log only. */
export const exitDetail = (exit: FfmpegExit): Error =>
  new Error(`${describeExit(exit)}: ${exit.stderrTail.join(" | ")}`);

/** A render that failed for no reason we can name may succeed again; `cause` is logged, not shown. */
export const retryableRenderFailed = (message: string, cause?: unknown): ReelayError =>
  errors.renderFailed(message, { retryable: true, ...(cause === undefined ? {} : { cause }) });

const abortReason = (signal: AbortSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error("The render was aborted");

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

/** Progress never goes backwards, whatever order the sources report in. */
export function monotonic(onProgress: (fraction: number) => void): (fraction: number) => void {
  let last = -1;
  return (fraction) => {
    const f = Math.min(1, Math.max(0, fraction));
    if (f > last) {
      last = f;
      onProgress(f);
    }
  };
}
