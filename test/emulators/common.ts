/**
 * What both upstream emulators share: an HTTP server on loopback, a log of every request, faults
 * scripted per route (429 with Retry-After, 500, slow answers, connection resets, malformed JSON,
 * an HTML error page), per-task behaviours (fail, never finish, expire, odd status strings), and
 * real MP4 results made with ffmpeg at the asked size and length.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { promisify } from "node:util";
import { resolveMediaTools } from "../../src/adapters/providers/local-renderer/media-tools.js";
import { TINY_PNG } from "../helpers/images.js";

export type Fault =
  | { kind: "status"; status: number; retryAfterS?: number; body?: string; contentType?: string }
  | { kind: "slow"; delayMs: number }
  | { kind: "reset" }
  | { kind: "malformed" }
  /** Answers 200 text/html (an error page where a video or JSON should be). */
  | { kind: "html" }
  /** Answers 302 to `location` (a download handed to a CDN, as real upstreams do). */
  | { kind: "redirect"; location: string };

export interface Behaviour {
  /** How long the task runs before it ends. */
  runMs?: number;
  outcome?: "complete" | "fail" | "never" | "expire";
  failCode?: string;
  failMessage?: string;
  /** Status strings reported while running instead of the API's own (`undefined`: no status field). */
  runningStatuses?: (string | undefined)[];
  /** Origin of the result links (`http://host:port`) instead of the emulator's own: files kept elsewhere. */
  resultOrigin?: string;
  /** `detail.has_watermark` on completion (unified relay); absent when not given. */
  hasWatermark?: boolean;
}

export interface EmulatedTask {
  readonly id: string;
  readonly createdAt: number;
  readonly behaviour: Required<Pick<Behaviour, "runMs" | "outcome">> & Behaviour;
  readonly input: Record<string, unknown>;
  readonly width: number;
  readonly height: number;
  readonly seconds: number;
  polls: number;
  lastPollAt: number | null;
  /** Longest time between two polls (from creation for the first). */
  maxGapMs: number;
  cancelled: boolean;
  idempotencyKey: string | null;
}

export interface LoggedRequest {
  readonly route: string;
  readonly method: string;
  readonly path: string;
  readonly auth: string | null;
  readonly at: number;
}

export type Phase = "queued" | "running" | "completed" | "failed" | "expired";

/** A callback the emulator posted, as the provider would, and what it got back. */
export interface SentCallback {
  readonly taskId: string;
  readonly url: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  /** The answer's status and body; null status: the URL could not be reached. */
  readonly status: number | null;
  readonly answer: string;
}

/** Callbacks go to loopback only: a test must never make an emulator post anywhere else. */
const isLoopback = (url: string): boolean => {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
};

export class EmulatorCore {
  readonly requests: LoggedRequest[] = [];
  readonly tasks = new Map<string, EmulatedTask>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly behaviours: Behaviour[] = [];
  defaultBehaviour: Behaviour = { runMs: 1500, outcome: "complete" };
  /** Keep the request log (off for load benchmarks). */
  logRequests = true;
  /** Added to every answer: an upstream with fixed latency. */
  latencyMs = 0;
  private seq = 0;
  /** Callbacks posted so far, in order. */
  readonly callbacks: SentCallback[] = [];
  /** The callback URL each task was created with. */
  readonly callbackUrls = new Map<string, string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private videoDir: Promise<string> | null = null;
  private readonly videos = new Map<string, Promise<string>>();

  constructor(readonly secret: string) {}

  /** The next `times` requests to `route` get `fault`. */
  fault(route: string, fault: Fault, times = 1): void {
    const list = this.faults.get(route) ?? [];
    for (let i = 0; i < times; i++) list.push(fault);
    this.faults.set(route, list);
  }

  /** The next created task behaves so (queue; then the default). */
  nextTask(b: Behaviour): void {
    this.behaviours.push(b);
  }

  takeFault(route: string): Fault | undefined {
    return this.faults.get(route)?.shift();
  }

  log(route: string, req: IncomingMessage): void {
    if (!this.logRequests) return;
    this.requests.push({
      route,
      method: req.method ?? "GET",
      path: req.url ?? "/",
      auth: req.headers.authorization ?? null,
      at: Date.now(),
    });
  }

  authorised(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.secret}`;
  }

  newTask(
    prefix: string,
    input: Record<string, unknown>,
    size: { width: number; height: number; seconds: number },
    key: string | null,
  ): EmulatedTask {
    if (key) {
      for (const t of this.tasks.values()) if (t.idempotencyKey === key) return t;
    }
    const b = { ...this.defaultBehaviour, ...(this.behaviours.shift() ?? {}) };
    const id = `${prefix}${Date.now().toString(36)}${(this.seq++).toString(36).padStart(6, "0")}`;
    const task: EmulatedTask = {
      id,
      createdAt: Date.now(),
      behaviour: { runMs: b.runMs ?? 1500, outcome: b.outcome ?? "complete", ...b },
      input,
      ...size,
      polls: 0,
      lastPollAt: null,
      maxGapMs: 0,
      cancelled: false,
      idempotencyKey: key,
    };
    this.tasks.set(id, task);
    return task;
  }

  /** Posts a callback as the provider does (to loopback only) and records it with its answer. */
  async postCallback(
    taskId: string,
    url: string,
    body: string,
    headers: Record<string, string> = {},
  ): Promise<SentCallback> {
    if (!isLoopback(url)) throw new Error(`emulator: callback URL ${url} is not on loopback`);
    let status: number | null = null;
    let answer = "";
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
        signal: AbortSignal.timeout(5000),
      });
      status = res.status;
      answer = await res.text();
    } catch (e) {
      answer = String(e);
    }
    const sent = { taskId, url, body, headers, status, answer };
    this.callbacks.push(sent);
    return sent;
  }

  /** Runs `fn` after `ms`, unless the emulator closes first. */
  later(ms: number, fn: () => Promise<unknown>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn().catch(() => undefined);
    }, ms);
    this.timers.add(timer);
  }

  /**
   * Posts what `build` makes to `url` once the task ends (its run time after creation), as
   * providers push a task's end; a task that never ends sends nothing.
   */
  callbackAtEnd(
    t: EmulatedTask,
    url: string,
    build: () => { body: unknown; headers?: Record<string, string> },
  ): void {
    this.callbackUrls.set(t.id, url);
    if (t.behaviour.outcome === "never") return;
    const wait = Math.max(0, t.createdAt + t.behaviour.runMs - Date.now()) + 20;
    this.later(wait, async () => {
      const { body, headers } = build();
      await this.postCallback(t.id, url, JSON.stringify(body), headers);
    });
  }

  /** Records a poll of `t` and says where it stands. */
  phaseOf(t: EmulatedTask, countPoll = true): { phase: Phase; progress: number } {
    const now = Date.now();
    if (countPoll) {
      t.maxGapMs = Math.max(t.maxGapMs, now - (t.lastPollAt ?? t.createdAt));
      t.lastPollAt = now;
      t.polls++;
    }
    const elapsed = now - t.createdAt;
    const b = t.behaviour;
    if (t.cancelled) return { phase: "failed", progress: 0 };
    if (b.outcome === "never" || elapsed < b.runMs) {
      const progress = b.outcome === "never" ? 50 : Math.floor((elapsed / b.runMs) * 100);
      return { phase: elapsed < 200 ? "queued" : "running", progress: Math.min(99, progress) };
    }
    if (b.outcome === "fail") return { phase: "failed", progress: 0 };
    if (b.outcome === "expire") return { phase: "expired", progress: 0 };
    return { phase: "completed", progress: 100 };
  }

  /** The status string to report while running (a scripted odd one, or the API's own). */
  runningStatus(t: EmulatedTask, own: string): string | undefined {
    const list = t.behaviour.runningStatuses;
    if (!list || list.length === 0) return own;
    return list[Math.min(t.polls - 1, list.length - 1)];
  }

  /** A real MP4 of the task's size and length (made once per size and length). */
  async video(t: EmulatedTask): Promise<string> {
    const key = `${t.width}x${t.height}x${t.seconds}`;
    let p = this.videos.get(key);
    if (!p) {
      p = (async () => {
        this.videoDir ??= mkdtemp(join(tmpdir(), "reelay-emu-"));
        const dir = await this.videoDir;
        const out = join(dir, `${key}.mp4`);
        const tools = await resolveMediaTools({ ffmpegPath: undefined, ffprobePath: undefined });
        await promisify(execFile)(tools.ffmpegPath, [
          ...[
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            `color=c=0x3050a0:s=${t.width}x${t.height}:r=10:d=${t.seconds}`,
          ],
          ...["-f", "lavfi", "-i", `anullsrc=r=48000:cl=stereo`, "-t", String(t.seconds)],
          ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest"],
          ...["-movflags", "+faststart", out],
        ]);
        return out;
      })();
      this.videos.set(key, p);
    }
    return p;
  }

  async thumbnail(): Promise<Buffer> {
    // A tiny valid JPEG would need an encoder; the emulator serves a 1×1 PNG (an image, not a JPEG).
    return TINY_PNG;
  }

  /**
   * Polling figures: per task, the longest time between two polls (or since the last one) since
   * the last reset. `reset` starts a new window.
   */
  stats(reset = false): {
    tasks: number;
    polls: number;
    neverPolled: number;
    maxGapMs: number;
    p99GapMs: number;
    p50GapMs: number;
  } {
    const now = Date.now();
    const gaps: number[] = [];
    let polls = 0;
    let neverPolled = 0;
    for (const t of this.tasks.values()) {
      polls += t.polls;
      if (t.lastPollAt === null) neverPolled++;
      gaps.push(Math.max(t.maxGapMs, now - (t.lastPollAt ?? t.createdAt)));
      if (reset) t.maxGapMs = 0;
    }
    gaps.sort((a, b) => a - b);
    const at = (q: number) => gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] ?? 0;
    return {
      tasks: this.tasks.size,
      polls,
      neverPolled,
      maxGapMs: at(1),
      p99GapMs: at(0.99),
      p50GapMs: at(0.5),
    };
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.videoDir) await rm(await this.videoDir, { recursive: true, force: true });
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Applies a scripted fault; true when it answered (or killed) the request. */
export async function applyFault(
  fault: Fault | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  if (!fault) return false;
  switch (fault.kind) {
    case "slow":
      await new Promise((r) => setTimeout(r, fault.delayMs));
      return false;
    case "reset":
      req.socket.destroy();
      return true;
    case "malformed":
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"id": "oops", "status": ');
      return true;
    case "redirect":
      res.writeHead(302, { location: fault.location });
      res.end();
      return true;
    case "html":
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html><body><h1>502 Bad Gateway</h1></body></html>");
      return true;
    case "status": {
      const headers: Record<string, string> = { "content-type": fault.contentType ?? "application/json" };
      if (fault.retryAfterS !== undefined) headers["retry-after"] = String(fault.retryAfterS);
      res.writeHead(fault.status, headers);
      res.end(
        fault.body ??
          JSON.stringify({
            error: { message: `emulated ${fault.status}`, code: `emulated_${fault.status}` },
          }),
      );
      return true;
    }
  }
}

export async function sendFile(res: ServerResponse, path: string, contentType: string): Promise<void> {
  const { size } = await stat(path);
  res.writeHead(200, { "content-type": contentType, "content-length": size });
  res.end(await readFile(path));
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new Error("body too large");
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface RunningEmulator {
  readonly url: string;
  readonly core: EmulatorCore;
  close(): Promise<void>;
}

export async function listen(
  core: EmulatorCore,
  handler: (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>,
  port = 0,
  /** Connection upgrades (a websocket route); without it they are refused. */
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<RunningEmulator> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://emulator");
    if (url.pathname === "/__emulator/stats")
      return sendJson(res, 200, core.stats(url.searchParams.has("reset")));
    const answer = async () => {
      if (core.latencyMs > 0) await new Promise((r) => setTimeout(r, core.latencyMs));
      await handler(req, res, url);
    };
    answer().catch((e: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: { message: `emulator crashed: ${String(e)}` } });
      else res.destroy();
    });
  });
  if (onUpgrade) server.on("upgrade", onUpgrade);
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    core,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await core.close();
    },
  };
}
