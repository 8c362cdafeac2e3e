/**
 * Maximum-size request bodies and a client that sends them: for the memory-budget test and the
 * big-bodies benchmark.
 */
import { request } from "node:http";
import { join } from "node:path";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { CREATE_BODY_LIMIT } from "../../src/http/routes/v1_video_create.js";
import { makePng } from "./image-server.js";

/** REELAY_IMAGE_MAX_BYTES's default: the largest image a create may carry. */
const IMAGE_BYTES = 20 * 1024 * 1024 - 1024;

/**
 * A create body of exactly the body limit: one inline image as large as allowed, padded with
 * spaces, and a non-ASCII prompt (the worst case: V8 then keeps the body two bytes a character).
 */
export async function maximumCreateBody(dir: string): Promise<Buffer> {
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const png = await makePng(tools.ffmpegPath, join(dir, "seed.png"), "color=c=red:s=64x64");
  const image = Buffer.concat([png, Buffer.alloc(IMAGE_BYTES - png.length, 0x20)]);
  const json = JSON.stringify({
    model: "sora-2",
    prompt: "un café qui déborde",
    orientation: "portrait",
    size: "small",
    duration: 10,
    images: [`data:image/png;base64,${image.toString("base64")}`],
  });
  const bytes = Buffer.byteLength(json);
  if (bytes > CREATE_BODY_LIMIT) throw new Error(`the create body is ${bytes} bytes, over the limit`);
  return Buffer.concat([Buffer.from(json), Buffer.alloc(CREATE_BODY_LIMIT - bytes, 0x20)]);
}

export interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly code: string | null;
}

/**
 * POSTs `body` on a connection of its own (node:http sends the headers at once and the Buffer
 * without a copy); the server's answer counts even if it came before the upload finished.
 * Status 0: the connection ended without any answer.
 */
export function postBody(url: string, headers: Record<string, string>, body: Buffer): Promise<Answer> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request(url, { method: "POST", headers, agent: false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        let code: string | null = null;
        try {
          code =
            (JSON.parse(Buffer.concat(chunks).toString()) as { error?: { code: string } }).error?.code ??
            null;
        } catch {
          code = "not JSON";
        }
        const retryAfter = res.headers["retry-after"];
        resolve({ status: res.statusCode ?? 0, retryAfter: retryAfter ?? null, code });
      });
    });
    req.on("error", (e: NodeJS.ErrnoException) => {
      if (!answered) resolve({ status: 0, retryAfter: null, code: e.code ?? e.message });
    });
    req.end(body);
  });
}
