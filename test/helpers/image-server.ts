/**
 * A loopback HTTP server with test images and misbehaving routes, for the image fetcher, the local
 * renderer and the e2e tests. It listens on 127.0.0.1 only; its one off-host link
 * (`/redirect-to-private`) exists to check that the fetcher refuses it before connecting.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";

export interface ImageServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  readonly url: string;
  /** `127.0.0.1:<port>`: what to put in the fetcher's allow-list. */
  readonly host: string;
  /** Requests received per path, e.g. to prove a refused URL was never fetched. */
  readonly hits: ReadonlyMap<string, number>;
  /** Serves `body` at `path` with `type` from now on. */
  serve(path: string, type: string, body: Buffer | string): void;
  close(): Promise<void>;
}

/** Bytes `/huge` streams at most: more than any test's limit, yet bounded if a limit is broken. */
export const HUGE_BYTES = 8 * 1024 * 1024;

/**
 * Starts the server. Routes: `/a.png` (1600×1200), `/b.png` (800×1200), `/redirect-to-a`,
 * `/redirect-loop`, `/redirect-to-private`, `/huge` (chunked, no length), `/huge-declared`
 * (Content-Length far over any limit), `/html`, `/500`, `/404`, `/notimage.png` (image/png, text),
 * `/broken.png` (a PNG signature, then garbage), `/never` (never answers), and any path added with
 * `serve` (e.g. hostile bytes under an image content type).
 */
export async function startImageServer(): Promise<ImageServer> {
  const tools = await resolveMediaTools({
    ffmpegPath: process.env.FFMPEG_PATH,
    ffprobePath: process.env.FFPROBE_PATH,
  });
  const dir = await mkdtemp(join(tmpdir(), "reelay-images-"));
  const a = await makePng(tools.ffmpegPath, join(dir, "a.png"), "testsrc=size=1600x1200");
  const b = await makePng(tools.ffmpegPath, join(dir, "b.png"), "smptebars=size=800x1200");
  const hits = new Map<string, number>();
  const extra = new Map<string, { type: string; body: Buffer | string }>();
  const hanging = new Set<ServerResponse>();

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const send = (
      status: number,
      type: string,
      body: Buffer | string,
      extra: Record<string, string> = {},
    ) => {
      res.writeHead(status, { "content-type": type, ...extra });
      res.end(body);
    };
    const added = extra.get(path);
    if (added) return send(200, added.type, added.body);
    switch (path) {
      case "/a.png":
        return send(200, "image/png", a);
      case "/b.png":
        return send(200, "image/png", b);
      case "/redirect-to-a":
        return send(302, "text/plain", "", { location: "/a.png" });
      case "/redirect-loop":
        return send(302, "text/plain", "", { location: "/redirect-loop" });
      case "/redirect-to-private":
        return send(302, "text/plain", "", { location: "http://10.0.0.1/x.png" });
      case "/huge":
        return streamHuge(res);
      case "/huge-declared":
        res.writeHead(200, { "content-type": "image/png", "content-length": String(1024 * 1024 * 1024) });
        // Send a little and then nothing: a fetcher that trusts the declared length would wait.
        res.write(Buffer.alloc(1024));
        hanging.add(res);
        return;
      case "/html":
        return send(200, "text/html; charset=utf-8", "<html><body>not an image</body></html>");
      case "/500":
        return send(500, "text/plain", "boom");
      case "/404":
        return send(404, "text/plain", "no such image");
      case "/notimage.png":
        return send(
          200,
          "image/png",
          Buffer.from("this is not a PNG at all, just text pretending".repeat(40)),
        );
      case "/broken.png":
        return send(
          200,
          "image/png",
          Buffer.concat([a.subarray(0, 8), Buffer.from("garbage after the signature".repeat(40))]),
        );
      case "/never":
        hanging.add(res);
        return;
      default:
        return send(404, "text/plain", "unknown route");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    hits,
    serve(path, type, body) {
      extra.set(path, { type, body });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Streams HUGE_BYTES in 64 kB chunks, respecting back-pressure, and stops when the client goes away. */
function streamHuge(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "image/png" });
  const chunk = Buffer.alloc(64 * 1024, 0x89);
  let sent = 0;
  const pump = () => {
    while (sent < HUGE_BYTES && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    res.end();
  };
  pump();
}

export async function makePng(ffmpegPath: string, out: string, source: string): Promise<Buffer> {
  const args = ["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", "1", out];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(ffmpegPath, args, { stdio: "ignore" });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`ffmpeg made no ${out} (${code})`)),
    );
  });
  return readFile(out);
}
