/** Reads a rendered file back the way a user would check it: with ffprobe. */
import { sniffFile } from "../../src/adapters/providers/local-renderer/media-input.js";
import {
  type ProbeResult,
  probe,
  resolveMediaTools,
} from "../../src/adapters/providers/local-renderer/media-tools.js";

/** Duration and streams of `file`, via the same ffprobe the server resolves. */
export async function ffprobe(file: string): Promise<ProbeResult> {
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const type = await sniffFile(file);
  if (type === null) throw new Error(`${file} is not a file type Reelay reads`);
  return probe(tools.ffprobePath, { path: file, type });
}
