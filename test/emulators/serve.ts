/**
 * Runs an emulator as its own process (for benchmarks and manual trials):
 * `npx tsx test/emulators/serve.ts <kind> --port 9000 --secret s [--run-ms 60000]
 * [--never] [--latency-ms 0]`. Prints `listening <url>` once it answers; `/__emulator/stats` reports
 * polling figures.
 */
import { parseArgs } from "node:util";
import { startComfyUi } from "./comfyui.js";
import type { RunningEmulator } from "./common.js";
import { startDashScope } from "./dashscope.js";
import { startFal } from "./fal.js";
import { startGemini } from "./gemini.js";
import { startKling } from "./kling.js";
import { startLuma } from "./luma.js";
import { startMiniMax } from "./minimax.js";
import { startNewApi } from "./newapi.js";
import { startOpenAiVideos } from "./openai-videos.js";
import { startOpenRouter } from "./openrouter.js";
import { startReplicate } from "./replicate.js";
import { startRunway } from "./runway.js";
import { startSeedance } from "./seedance.js";
import { startUnifiedRelay } from "./unified-relay.js";
import { startVertex } from "./vertex.js";
import { startXai } from "./xai.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: "string", default: "0" },
    secret: { type: "string", default: "emulator-secret" },
    "run-ms": { type: "string", default: "1500" },
    never: { type: "boolean", default: false },
    "latency-ms": { type: "string", default: "0" },
  },
});
const kind = positionals[0];
const STARTS: Record<string, (o: { secret: string; port: number }) => Promise<RunningEmulator>> = {
  unified: startUnifiedRelay,
  openai: startOpenAiVideos,
  seedance: startSeedance,
  dashscope: startDashScope,
  kling: startKling,
  gemini: startGemini,
  minimax: startMiniMax,
  luma: startLuma,
  xai: startXai,
  newapi: startNewApi,
  replicate: startReplicate,
  runway: startRunway,
  openrouter: startOpenRouter,
  fal: startFal,
  vertex: startVertex,
  comfyui: startComfyUi,
};
const start = kind === undefined ? undefined : STARTS[kind];
if (!start) {
  console.error(
    `usage: serve.ts ${Object.keys(STARTS).join("|")} [--port N] [--secret S] [--run-ms N] [--never] [--latency-ms N]`,
  );
  process.exit(2);
}
const emu: RunningEmulator = await start({ secret: values.secret, port: Number(values.port) });
emu.core.logRequests = false;
emu.core.latencyMs = Number(values["latency-ms"]);
emu.core.defaultBehaviour = { runMs: Number(values["run-ms"]), outcome: values.never ? "never" : "complete" };
process.stdout.write(`listening ${emu.url}\n`);
const stop = () => void emu.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
