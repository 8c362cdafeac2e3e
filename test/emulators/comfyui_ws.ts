/**
 * The emulated ComfyUI server's `/ws?clientId=` (comfyanonymous/ComfyUI `server.py`
 * `websocket_handler`, `execution.py`, `main.py`): on connect a `status` message (`{status:
 * {exec_info: {queue_remaining}}, sid}`); per prompt, to the socket of the prompt's `client_id`
 * (to every socket when it had none), `execution_start`, `execution_cached`, then per node in the
 * graph's order `executing {node}` (the sampler with `progress {value, max}` per step and a binary
 * preview frame), `executed` for the output node, and at the end `execution_success` or
 * `execution_error`, then `executing {node: null}`. An interrupt sends `execution_interrupted`.
 * The messages follow the same clock as the history: the last one is due when the history has
 * the prompt's entry.
 * Faults: `refuse` (the upgrade answered 503, as a proxy without websocket support does), `drop()`
 * (every socket cut mid-task), `send()` (any message, forged ones included).
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";

export interface WsPrompt {
  readonly id: string;
  readonly clientId: string | null;
  readonly graph: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  readonly outputNode: string;
  /** When it leaves the queue and when it ends (epoch ms); `end` null: it never does. */
  readonly start: number;
  readonly end: number | null;
  readonly outcome: "complete" | "fail" | "never";
  readonly failure: { type: string; message: string };
  /** The output node's `ui` (what `executed` carries). */
  readonly ui: object;
}

export interface ComfyWsControl {
  /** Answer the next upgrades 503 (no socket). */
  refuse: boolean;
  /** Connections accepted so far. */
  connections: number;
  /** Client ids with a socket open now. */
  readonly clients: () => string[];
  /** Cuts every open socket. */
  drop(): void;
  /** Sends `{type, data}` to `clientId`'s socket (every socket when null). */
  send(clientId: string | null, type: string, data: object): void;
  /** Plans a queued prompt's events. */
  queued(p: WsPrompt): void;
  /** The prompt was interrupted (or deleted from the queue): its remaining events are dropped. */
  stopped(promptId: string, interrupted: boolean): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, authorised: boolean): void;
  close(): Promise<void>;
}

interface Planned {
  readonly at: number;
  readonly clientId: string | null;
  readonly type: string | "preview";
  readonly data: object;
}

const SAMPLERS = /KSampler|SamplerCustom/;

/** The messages of one prompt, timed between its start and end. */
function plan(p: WsPrompt): Planned[] {
  const out: Planned[] = [];
  const add = (at: number, type: string, data: object) =>
    out.push({ at, clientId: p.clientId, type, data: { ...data, prompt_id: p.id } });
  const ids = Object.keys(p.graph);
  const sampler = ids.find((id) => SAMPLERS.test(p.graph[id]?.class_type ?? "")) ?? null;
  // Never-ending prompts run a nominal 4 s and stop half way through the sampler.
  const end = p.end ?? p.start + 4000;
  const span = Math.max(ids.length, end - p.start);
  // The sampler takes 80% of the time, the other nodes share the rest.
  const samplerMs = sampler ? span * 0.8 : 0;
  const otherMs = (span - samplerMs) / Math.max(1, ids.length - (sampler ? 1 : 0));
  add(p.start, "execution_start", { timestamp: p.start });
  add(p.start, "execution_cached", { nodes: [], timestamp: p.start });
  let t = p.start;
  for (const id of ids) {
    add(t, "executing", { node: id, display_node: id });
    if (id === sampler) {
      const steps = Number(p.graph[id]?.inputs.steps) || 20;
      const last = p.outcome === "complete" ? steps : Math.floor(steps / 2);
      for (let v = 1; v <= last; v++) {
        const at = t + (samplerMs * v) / (steps + 1);
        add(at, "progress", { value: v, max: steps, node: id });
        if (v === 1) out.push({ at, clientId: p.clientId, type: "preview", data: {} });
      }
      if (p.outcome === "never") return out;
      if (p.outcome === "fail") {
        add(end, "execution_error", {
          node_id: id,
          node_type: p.graph[id]?.class_type,
          executed: [],
          exception_message: p.failure.message,
          exception_type: p.failure.type,
          traceback: [],
          current_inputs: {},
          current_outputs: {},
          timestamp: end,
        });
        add(end + 1, "executing", { node: null });
        return out;
      }
      t += samplerMs;
    } else t += otherMs;
    if (id === p.outputNode) add(Math.min(t, end), "executed", { node: id, display_node: id, output: p.ui });
  }
  add(end, "execution_success", { timestamp: end });
  add(end + 1, "executing", { node: null });
  return out;
}

export function createComfyWs(queueRemaining: () => number): ComfyWsControl {
  const wss = new WebSocketServer({ noServer: true });
  const sockets = new Map<string, WebSocket>();
  let due: Planned[] = [];
  let ticker: NodeJS.Timeout | undefined;

  function deliver(clientId: string | null, type: string, data: object): void {
    const targets = clientId === null ? [...sockets.values()] : [sockets.get(clientId)].filter(Boolean);
    for (const ws of targets) {
      if (ws?.readyState !== WebSocket.OPEN) continue;
      // A preview: a 4-byte big-endian event type (1: JPEG preview), then the image's bytes.
      if (type === "preview")
        ws.send(Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 1]), Buffer.alloc(64)]));
      else ws.send(JSON.stringify({ type, data }));
    }
  }

  function tick(): void {
    const now = Date.now();
    const ready = due.filter((m) => m.at <= now);
    if (ready.length === 0) return;
    due = due.filter((m) => m.at > now);
    for (const m of ready) deliver(m.clientId, m.type, m.data);
    if (due.length === 0) {
      clearInterval(ticker);
      ticker = undefined;
    }
  }

  const control: ComfyWsControl = {
    refuse: false,
    connections: 0,
    clients: () => [...sockets.keys()],
    drop() {
      for (const ws of sockets.values()) ws.terminate();
      sockets.clear();
    },
    send: deliver,
    queued(p) {
      deliver(null, "status", { status: { exec_info: { queue_remaining: queueRemaining() } } });
      due.push(...plan(p));
      due.sort((a, b) => a.at - b.at);
      ticker ??= setInterval(tick, 20);
    },
    stopped(promptId, interrupted) {
      const mine = (m: Planned) => (m.data as { prompt_id?: string }).prompt_id === promptId;
      const first = due.find(mine);
      due = due.filter((m) => !mine(m));
      if (interrupted && first)
        for (const type of ["execution_interrupted", "executing"])
          deliver(first.clientId, type, {
            prompt_id: promptId,
            ...(type === "executing"
              ? { node: null }
              : { node_id: "7", node_type: "KSampler", executed: [] }),
          });
    },
    handleUpgrade(req, socket, head, authorised) {
      if (control.refuse || !authorised) {
        const line = authorised ? "503 Service Unavailable" : "401 Unauthorized";
        socket.end(`HTTP/1.1 ${line}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        control.connections++;
        const url = new URL(req.url ?? "/", "http://emulator");
        // As ComfyUI: a given clientId replaces that client's older socket; none gets a fresh one.
        const sid = url.searchParams.get("clientId") || crypto.randomUUID().replace(/-/g, "");
        sockets.get(sid)?.terminate();
        sockets.set(sid, ws);
        ws.on("close", () => {
          if (sockets.get(sid) === ws) sockets.delete(sid);
        });
        ws.send(
          JSON.stringify({
            type: "status",
            data: { status: { exec_info: { queue_remaining: queueRemaining() } }, sid },
          }),
        );
      });
    },
    async close() {
      clearInterval(ticker);
      control.drop();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
  return control;
}
