/**
 * How much the local renderer adds on top of ffmpeg itself. Each case runs the provider's `generate`
 * (downloads, caption, render, thumbnail, probe) and the bare render argv from `buildRenderArgs`
 * alternately, and reports the ratio of the medians (goal: ≤ 1.1). Run: `npx tsx bench/render.ts`.
 * Images come from a loopback server (allow-listed), so no traffic leaves the machine.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createImageFetcher } from "../src/adapters/net/safe-fetch.js";
import { buildRenderArgs } from "../src/adapters/providers/local-renderer/filtergraph.js";
import { createLocalRenderer } from "../src/adapters/providers/local-renderer/index.js";
import { resolveMediaTools } from "../src/adapters/providers/local-renderer/media-tools.js";
import type { VideoRequest } from "../src/core/task.js";
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
  /** What generate adds in absolute terms: downloads, caption, thumbnail, probe. */
  readonly overheadMs: number;
}

/** Runs both cases and writes bench/results/render.json; returns the results. */
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
    const base = { model: "sora-2-pro", family: "sora-2", watermark: false, private: false } as const;
    const cases: [string, VideoRequest][] = [
      [
        "15 s 1080x1920, no images",
        {
          ...base,
          prompt: PROMPT,
          orientation: "portrait",
          size: "large",
          width: 1080,
          height: 1920,
          duration: 15,
          images: [],
        },
      ],
      [
        "10 s 1280x720, two images",
        {
          ...base,
          prompt: PROMPT,
          orientation: "landscape",
          size: "small",
          width: 1280,
          height: 720,
          duration: 10,
          images: [`${server.url}/a.png`, `${server.url}/b.png`],
        },
      ],
    ];
    const results: CaseResult[] = [];
    let dirCount = 0;
    const workDir = async () => {
      const dir = join(root, String(dirCount++));
      await mkdir(dir);
      return dir;
    };
    for (const [name, request] of cases) {
      const generate = async () => {
        const dir = await workDir();
        const started = performance.now();
        await renderer.generate(request, {
          workDir: dir,
          signal: new AbortController().signal,
          onProgress: () => {},
        });
        return { ms: performance.now() - started, dir };
      };
      // Warm-up run, untimed: also leaves the downloaded images and caption the bare command reuses.
      const { dir: inputs } = await generate();
      const args = buildRenderArgs({
        width: request.width,
        height: request.height,
        durationS: request.duration,
        prompt: request.prompt,
        imagePaths: request.images.map((_, i) => join(inputs, `image-${i}`)),
        captionPath: join(inputs, "caption.txt"),
        fontPath: tools.fontPath,
        outputPath: join(inputs, "bare.mp4"),
      });
      const generateMs: number[] = [];
      const bareMs: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        generateMs.push((await generate()).ms);
        bareMs.push(await timeProcess(tools.ffmpegPath, args));
      }
      const medianGenerateMs = median(generateMs);
      const medianBareMs = median(bareMs);
      const ratio = medianGenerateMs / medianBareMs;
      const overheadMs = medianGenerateMs - medianBareMs;
      results.push({ name, generateMs, bareMs, medianGenerateMs, medianBareMs, ratio, overheadMs });
      process.stdout.write(
        `${name}: generate ${fmt(medianGenerateMs)} ms, bare ffmpeg ${fmt(medianBareMs)} ms, ` +
          `overhead ${fmt(overheadMs)} ms, ratio ${ratio.toFixed(3)} (goal ≤ ${GOAL}) ${ratio <= GOAL ? "ok" : "OVER"}\n`,
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

const PROMPT =
  "A lighthouse on a cliff at dusk, waves crashing below, gulls circling in the warm evening light " +
  "while a small boat heads home across the bay";

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
