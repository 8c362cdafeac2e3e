/**
 * How much the local renderer adds on top of ffmpeg itself. Each case runs the provider's `generate`
 * (downloads, caption, render, thumbnail, spritesheet, probe) and the same ffmpeg work done bare
 * (the render argv from `buildRenderArgs`, or `buildSourceRenderArgs` for the source modes, then the
 * thumbnail, spritesheet and ffprobe commands side by side, as generate runs them) alternately, and
 * reports the ratio of the medians (goal: ≤ 1.1). The source-mode cases (remix, extend of the first case's video) also
 * report their bare render's cost per output second against the plain render of the same frame size.
 * Run: `npx tsx bench/render.ts`. Images come from a loopback server (allow-listed), so no traffic
 * leaves the machine.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createImageFetcher } from "../src/adapters/net/safe-fetch.js";
import { buildRenderArgs, buildThumbnailArgs } from "../src/adapters/providers/local-renderer/filtergraph.js";
import { createLocalRenderer } from "../src/adapters/providers/local-renderer/index.js";
import { resolveMediaTools } from "../src/adapters/providers/local-renderer/media-tools.js";
import {
  buildSourceRenderArgs,
  sourceOutputDurationS,
} from "../src/adapters/providers/local-renderer/source-modes.js";
import {
  buildSpritesheetArgs,
  spritesheetLayout,
} from "../src/adapters/providers/local-renderer/spritesheet.js";
import type { VideoRequest, VideoSource } from "../src/core/tasks/task.js";
import { startImageServer } from "../test/helpers/image-server.js";

const RUNS = 3;
const GOAL = 1.1;
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), "results", "render.json");

interface CaseResult {
  readonly name: string;
  readonly generateMs: number[];
  readonly bareMs: number[];
  readonly medianGenerateMs: number;
  readonly medianBareMs: number;
  readonly ratio: number;
  /** What generate adds in absolute terms: downloads, caption, thumbnail, spritesheet, probe. */
  readonly overheadMs: number;
  /**
   * Source modes only: bare ms per output second ÷ the same for the plain case of the same frame size
   * (1 = as cheap per second as rendering from a colour background).
   */
  readonly perSecondVsPlain?: number;
}

interface BenchCase {
  readonly name: string;
  readonly request: VideoRequest;
  /** The case whose warm-up video is this case's source, and whose bare render it is compared with. */
  readonly sourceCase?: string;
}

/** Runs every case and writes bench/results/render.json; returns the results. */
export async function runRenderBench(): Promise<CaseResult[]> {
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const server = await startImageServer();
  const root = await mkdtemp(join(tmpdir(), "reelay-bench-"));
  try {
    const fetcher = createImageFetcher({
      allowHosts: [server.host],
      maxBytes: 20e6,
      timeoutMs: 30_000,
      maxRedirects: 3,
    });
    const renderer = createLocalRenderer({ tools, fetcher });
    const portrait: VideoRequest = {
      api: "unified",
      model: "sora-2-pro",
      family: "sora-2",
      prompt: PROMPT,
      orientation: "portrait",
      size: "large",
      width: 1080,
      height: 1920,
      duration: 15,
      images: [],
      imageKeys: [],
      source: null,
      watermark: false,
      private: false,
    };
    const from = (kind: VideoSource["kind"]): VideoSource => ({
      kind,
      taskId: null,
      videoKey: "bench/source.mp4",
      durationS: portrait.duration,
    });
    const plainName = "15 s 1080x1920, no images";
    const cases: BenchCase[] = [
      { name: plainName, request: portrait },
      {
        name: "10 s 1280x720, two images",
        request: {
          ...portrait,
          orientation: "landscape",
          size: "small",
          width: 1280,
          height: 720,
          duration: 10,
          images: [`${server.url}/a.png`, `${server.url}/b.png`],
        },
      },
      {
        name: "15 s 1080x1920, remix of a 15 s video",
        request: { ...portrait, prompt: NEW_PROMPT, source: from("remix") },
        sourceCase: plainName,
      },
      {
        name: "15 s 1080x1920 video extended by 10 s",
        request: { ...portrait, prompt: NEW_PROMPT, duration: 10, source: from("extend") },
        sourceCase: plainName,
      },
    ];
    const results: CaseResult[] = [];
    /** Each case's warm-up video, a source for later cases. */
    const videos = new Map<string, string>();
    let dirCount = 0;
    const workDir = async () => {
      const dir = join(root, String(dirCount++));
      await mkdir(dir);
      return dir;
    };
    for (const { name, request, sourceCase } of cases) {
      const sourceVideo = sourceCase === undefined ? null : (videos.get(sourceCase) ?? null);
      const generate = async () => {
        const dir = await workDir();
        const started = performance.now();
        const video = await renderer.generate(request, {
          workDir: dir,
          files: { imageFiles: [], sourceVideo },
          signal: new AbortController().signal,
          onProgress: () => {},
        });
        return { ms: performance.now() - started, dir, videoPath: video.videoPath };
      };
      // Warm-up run, untimed: also leaves the downloaded images and caption the bare command reuses.
      const warmUp = await generate();
      videos.set(name, warmUp.videoPath);
      const args = bareArgs(request, warmUp.dir, sourceVideo, tools.fontPath);
      const generateMs: number[] = [];
      const bareMs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        generateMs.push((await generate()).ms);
        bareMs.push(await timeBare(tools, args, request, join(warmUp.dir, "bare.mp4")));
      }
      const medianGenerateMs = median(generateMs);
      const medianBareMs = median(bareMs);
      const ratio = medianGenerateMs / medianBareMs;
      const overheadMs = medianGenerateMs - medianBareMs;
      const plain = results.find((r) => r.name === sourceCase);
      const perSecondVsPlain =
        plain === undefined || request.source === null
          ? undefined
          : medianBareMs /
            sourceOutputDurationS({
              kind: request.source.kind,
              durationS: request.duration,
              sourceDurationS: request.source.durationS,
            }) /
            (plain.medianBareMs / portrait.duration);
      results.push({
        name,
        generateMs,
        bareMs,
        medianGenerateMs,
        medianBareMs,
        ratio,
        overheadMs,
        ...(perSecondVsPlain === undefined ? {} : { perSecondVsPlain }),
      });
      process.stdout.write(
        `${name}: generate ${fmt(medianGenerateMs)} ms, bare ffmpeg ${fmt(medianBareMs)} ms, ` +
          `overhead ${fmt(overheadMs)} ms, ratio ${ratio.toFixed(3)} (goal ≤ ${GOAL}) ${ratio <= GOAL ? "ok" : "OVER"}` +
          `${perSecondVsPlain === undefined ? "" : `; per output second ${perSecondVsPlain.toFixed(2)}× the plain render`}\n`,
      );
    }
    await mkdir(dirname(RESULTS), { recursive: true });
    const machine = {
      cpus: cpus().length,
      cpu: cpus()[0]?.model ?? "unknown",
      node: process.version,
      ffmpeg: tools.ffmpegPath,
    };
    await writeFile(
      RESULTS,
      `${JSON.stringify({ at: new Date().toISOString(), goal: GOAL, machine, results }, null, 2)}\n`,
    );
    process.stdout.write(`results written to ${RESULTS}\n`);
    return results;
  } finally {
    await server.close();
    await rm(root, { recursive: true, force: true });
  }
}

/** The render `generate` runs for `request`, as a bare argv over the inputs its warm-up left in `dir`. */
function bareArgs(
  request: VideoRequest,
  dir: string,
  sourceVideo: string | null,
  fontPath: string,
): string[] {
  const common = {
    width: request.width,
    height: request.height,
    durationS: request.duration,
    prompt: request.prompt,
    captionPath: join(dir, "caption.txt"),
    fontPath,
    outputPath: join(dir, "bare.mp4"),
  };
  if (request.source === null || sourceVideo === null) {
    // The bench's images are the JPEGs it made itself.
    const images = request.images.map((_, i) => ({
      path: join(dir, `image-${i}`),
      type: "jpeg" as const,
      orientation: 1,
    }));
    return buildRenderArgs({ ...common, images });
  }
  return buildSourceRenderArgs({
    ...common,
    kind: request.source.kind,
    source: { path: sourceVideo, type: "mp4" },
    sourceDurationS: request.source.durationS,
    sourceHasAudio: true,
  });
}

const PROMPT =
  "A lighthouse on a cliff at dusk, waves crashing below, gulls circling in the warm evening light " +
  "while a small boat heads home across the bay";
const NEW_PROMPT = "The same coast at night under a green aurora, the lighthouse beam sweeping the dark sea";

/** The bare render, then its thumbnail, spritesheet and probe in parallel: the ffmpeg work of generate. */
async function timeBare(
  tools: { ffmpegPath: string; ffprobePath: string },
  renderArgs: readonly string[],
  request: VideoRequest,
  out: string,
): Promise<number> {
  const durationS = request.source
    ? sourceOutputDurationS({
        kind: request.source.kind,
        durationS: request.duration,
        sourceDurationS: request.source.durationS,
      })
    : request.duration;
  const started = performance.now();
  await timeProcess(tools.ffmpegPath, renderArgs);
  await Promise.all([
    timeProcess(
      tools.ffmpegPath,
      buildThumbnailArgs({ path: out, type: "mp4" }, `${out}.thumb.jpg`, Math.min(1, durationS / 2)),
    ),
    timeProcess(
      tools.ffmpegPath,
      buildSpritesheetArgs(
        { path: out, type: "mp4" },
        `${out}.sprites.jpg`,
        spritesheetLayout(request.width, request.height, durationS),
        durationS,
      ),
    ),
    timeProcess(tools.ffprobePath, [
      "-v",
      "error",
      "-print_format",
      "json",
      "-show_format",
      "-show_streams",
      out,
    ]),
  ]);
  return performance.now() - started;
}

function timeProcess(cmd: string, args: readonly string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0
        ? resolve(performance.now() - started)
        : reject(new Error(`bare ffmpeg exited with ${code}`)),
    );
  });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

const fmt = (ms: number): string => ms.toFixed(0);

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runRenderBench().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
