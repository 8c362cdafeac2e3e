/**
 * One `/ws?clientId=` connection to a ComfyUI server per channel (comfyanonymous/ComfyUI
 * `server.py` `websocket_handler`): the server sends `{type, data}` JSON for the prompts queued
 * with that `client_id`, and binary frames (previews: a 4-byte event type and an image), which
 * are ignored. Opened when wanted (the first submit), kept while prompts are waiting, reopened
 * after a drop with capped exponential backoff and jitter, and checked by ping (a server that
 * vanished without closing is noticed within two intervals). While it is down, the adapter
 * reads `/history` alone.
 */
import WebSocket from "ws";

export interface ComfySocketOptions {
  /** The channel's base URL (`http(s)://host:port/prefix`): the socket is `ws(s)://…/prefix/ws`. */
  readonly baseUrl: string;
  readonly clientId: string;
  /** The channel's credential headers (a proxy in front of ComfyUI), as on every HTTP call. */
  readonly headers: () => Record<string, string>;
  readonly connectTimeoutMs: number;
  /** The socket opened again after a drop (events may have been missed). */
  readonly onReopen?: () => void;
  /** Each JSON message, parsed. */
  readonly onMessage: (message: unknown) => void;
  /** Whether to reconnect after a drop (prompts still waiting for their events). */
  readonly wanted: () => boolean;
  /** First reconnect delay and its cap (doubling in between). */
  readonly backoff?: { readonly baseMs: number; readonly maxMs: number };
  readonly pingMs?: number;
}

export interface ComfySocket {
  /** True while the socket is open: its events are current. */
  readonly open: boolean;
  /**
   * Opens the socket when it is neither open nor opening; resolves once it is open, fails, or
   * `waitMs` has passed (never rejects: without the socket the adapter polls).
   */
  ensure(waitMs: number): Promise<void>;
  close(): Promise<void>;
}

/** Largest message accepted: previews of a large image; beyond it the server is read by polling. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

export function wsUrlOf(baseUrl: string, clientId: string): string {
  const base = new URL(baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`);
  const url = new URL("ws", base);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("clientId", clientId);
  return url.toString();
}

export function createComfySocket(o: ComfySocketOptions): ComfySocket {
  const backoff = o.backoff ?? { baseMs: 500, maxMs: 30_000 };
  const pingMs = o.pingMs ?? 30_000;
  const url = wsUrlOf(o.baseUrl, o.clientId);
  let ws: WebSocket | null = null;
  let isOpen = false;
  let closed = false;
  let failures = 0;
  let opened = false;
  let retry: NodeJS.Timeout | undefined;
  let ping: NodeJS.Timeout | undefined;
  /** Waiters of `ensure`, told when the attempt under way opens or fails. */
  let settled: (() => void)[] = [];

  const settle = () => {
    const list = settled;
    settled = [];
    for (const f of list) f();
  };

  function connect(): void {
    clearTimeout(retry);
    retry = undefined;
    const socket = new WebSocket(url, {
      headers: o.headers(),
      handshakeTimeout: o.connectTimeoutMs,
      maxPayload: MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
    });
    ws = socket;
    let alive = true;
    // The connection must not keep a stopping process alive: close() ends it, this covers the rest.
    socket.on("upgrade", (res) => res.socket.unref());
    socket.on("open", () => {
      isOpen = true;
      failures = 0;
      if (opened) o.onReopen?.();
      opened = true;
      settle();
      ping = setInterval(() => {
        if (!alive) {
          socket.terminate();
          return;
        }
        alive = false;
        socket.ping();
      }, pingMs);
      ping.unref();
    });
    socket.on("pong", () => {
      alive = true;
    });
    socket.on("message", (data, isBinary) => {
      alive = true;
      if (isBinary) return;
      let message: unknown;
      try {
        message = JSON.parse(data.toString());
      } catch {
        return;
      }
      o.onMessage(message);
    });
    // An error (refused, 401 from a proxy, a bad frame) is always followed by `close`.
    socket.on("error", () => {});
    socket.on("close", () => {
      if (ws === socket) ws = null;
      isOpen = false;
      clearInterval(ping);
      settle();
      if (closed || !o.wanted()) return;
      const cap = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.min(failures, 16));
      failures++;
      retry = setTimeout(connect, cap / 2 + Math.random() * (cap / 2));
      retry.unref();
    });
  }

  return {
    get open() {
      return isOpen;
    },
    ensure(waitMs) {
      if (closed || isOpen) return Promise.resolve();
      // Waiting for a reconnect after a drop: do not hold the submit up.
      if (retry !== undefined) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        timer.unref();
        settled.push(() => {
          clearTimeout(timer);
          resolve();
        });
        if (ws === null) connect();
      });
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(ping);
      const socket = ws;
      ws = null;
      settle();
      if (!socket || socket.readyState === WebSocket.CLOSED) return;
      await new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.terminate();
      });
    },
  };
}
