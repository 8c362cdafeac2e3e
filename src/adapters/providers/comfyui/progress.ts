/**
 * What ComfyUI's `/ws` events say about the prompts this adapter queued: started or not, a
 * progress figure, and how it ended. Pure (no socket, no clock of its own), bounded in memory.
 *
 * Events (comfyanonymous/ComfyUI `execution.py`, `main.py`, `server.py`), each `{type, data}`
 * with `data.prompt_id`: `execution_start`; `execution_cached {nodes}` (nodes that will not run);
 * `executing {node}` (the node now running; `node: null` once the prompt is over, after its
 * history is written); `progress {value, max, node}` (steps of the running node, a sampler's);
 * `progress_state {nodes: {<id>: {value, max, state}}}` (newer servers); `executed {node, output}`;
 * `execution_success`; `execution_error {exception_type, exception_message, node_id, node_type}`;
 * `execution_interrupted`. `status` (the queue length) names no prompt and is not kept.
 *
 * Progress rule: a workflow of N nodes is at `(done + value/max of the running node) / N`, where
 * `done` counts the workflow's nodes that were cached or have finished (the server moved on to
 * another node, or reported one `executed` or `finished`). Shown as 0–99 while the prompt runs and
 * never going back (a reconnect that misses events does not lower it); 100 is for the history to
 * confirm. Nodes are equal in the count, so a sampler's steps move it within one node's share:
 * coarse, but it needs nothing beyond what the server sends.
 *
 * These events are advice, never a verdict: the adapter confirms an ending in `/history/{id}`,
 * so a missed or forged event cannot complete or fail a task.
 */
import type { UpstreamErrorClass } from "../../../core/upstream/ports.js";
import { obj, str } from "../upstream/status.js";
import { classifyException } from "./mapping.js";

export type LiveEnd =
  | { readonly kind: "success" }
  | { readonly kind: "interrupted" }
  | {
      readonly kind: "error";
      readonly code: string;
      readonly message: string;
      readonly class: UpstreamErrorClass;
    }
  /** `executing node: null` without a success, error or interruption seen before it. */
  | { readonly kind: "finished" };

/** A prompt as its events tell it. */
export interface LiveView {
  readonly started: boolean;
  /** 0–99 by the rule above. */
  readonly progress: number;
  readonly ended: LiveEnd | null;
}

interface Entry {
  /** Queued by this adapter (`track`); else its events came before the create's answer. */
  tracked: boolean;
  started: boolean;
  readonly done: Set<string>;
  current: string | null;
  fraction: number;
  progress: number;
  ended: LiveEnd | null;
  lastSeen: number;
}

export interface TrackerOptions {
  /** The workflow's node ids: N in the rule, and the only ids counted as done. */
  readonly nodes: ReadonlySet<string>;
  readonly now: () => number;
  /** Entries kept at most (oldest dropped first). */
  readonly maxEntries?: number;
  /** A tracked prompt neither heard of nor polled for this long is dropped. */
  readonly idleMs?: number;
  /** Events of a prompt never tracked are kept this long (the create's answer may still come). */
  readonly earlyMs?: number;
}

export interface PromptTracker {
  /** The adapter queued `promptId`: keep its events until it ends. */
  track(promptId: string): void;
  /**
   * One `/ws` text message. Returns the id of a tracked prompt that this message says ended or
   * changed for good (`execution_success`, `execution_error`, `execution_interrupted`,
   * `executing node: null`), so the gateway may poll it at once; else null.
   */
  apply(message: unknown): string | null;
  /** What the events say about `promptId` (and it counts as seen); null when none came. */
  view(promptId: string): LiveView | null;
  /**
   * The socket was reopened: events were missed meanwhile (the server may even have restarted and
   * lost its queue), so no prompt counts as started until an event says so again. Progress stays.
   */
  reconnected(): void;
  /** The task ended (or was cancelled): drop its entry. */
  forget(promptId: string): void;
  /** Tracked prompts that have not ended: while there are some, the socket is worth keeping. */
  waiting(): number;
  readonly size: number;
}

const ENDING = new Set(["execution_success", "execution_error", "execution_interrupted"]);

export function createPromptTracker(o: TrackerOptions): PromptTracker {
  const maxEntries = o.maxEntries ?? 5000;
  const idleMs = o.idleMs ?? 24 * 3600_000;
  const earlyMs = o.earlyMs ?? 60_000;
  const total = Math.max(1, o.nodes.size);
  const entries = new Map<string, Entry>();
  let prunedAt = 0;

  const fresh = (tracked: boolean): Entry => ({
    tracked,
    started: false,
    done: new Set(),
    current: null,
    fraction: 0,
    progress: 0,
    ended: null,
    lastSeen: o.now(),
  });

  /** Drops idle entries (at most once a minute) and the oldest beyond the cap. */
  function prune(): void {
    const now = o.now();
    if (now - prunedAt >= 60_000) {
      prunedAt = now;
      for (const [id, e] of entries)
        if (now - e.lastSeen > (e.tracked ? idleMs : earlyMs)) entries.delete(id);
    }
    // A Map iterates in insertion order: the first keys are the oldest prompts.
    for (const id of entries.keys()) {
      if (entries.size <= maxEntries) break;
      entries.delete(id);
    }
  }

  function entryFor(id: string): Entry {
    let e = entries.get(id);
    if (!e) {
      e = fresh(false);
      entries.set(id, e);
      prune();
    }
    e.lastSeen = o.now();
    return e;
  }

  const finish = (e: Entry, node: string | null) => {
    if (node !== null && o.nodes.has(node)) e.done.add(node);
  };

  /** The server runs `node` now: the one it ran before has finished. */
  function moveTo(e: Entry, node: string): void {
    if (node === e.current) return;
    finish(e, e.current);
    e.current = node;
    e.fraction = 0;
  }

  function recompute(e: Entry): void {
    const pct = Math.floor((100 * (e.done.size + e.fraction)) / total);
    e.progress = Math.max(e.progress, Math.min(99, Math.max(0, pct)));
  }

  const ratio = (value: unknown, max: unknown): number | null =>
    typeof value === "number" && typeof max === "number" && max > 0 && Number.isFinite(value / max)
      ? Math.min(1, Math.max(0, value / max))
      : null;

  function step(e: Entry, type: string, d: Record<string, unknown>): void {
    switch (type) {
      case "execution_start":
        e.started = true;
        return;
      case "execution_cached":
        e.started = true;
        if (Array.isArray(d.nodes)) for (const n of d.nodes) if (typeof n === "string") finish(e, n);
        return;
      case "executing": {
        const node = d.node === null ? null : str(d.node);
        if (node === null) {
          finish(e, e.current);
          e.current = null;
          e.fraction = 0;
          e.ended ??= { kind: "finished" };
          return;
        }
        e.started = true;
        moveTo(e, node);
        return;
      }
      case "progress": {
        // The node is named on every server since 2023; a reconnect may have missed its `executing`.
        const node = str(d.node);
        if (node !== null) moveTo(e, node);
        e.started = true;
        e.fraction = ratio(d.value, d.max) ?? e.fraction;
        return;
      }
      case "progress_state":
        e.started = true;
        for (const [id, raw] of Object.entries(obj(d.nodes))) {
          const n = obj(raw);
          if (n.state === "finished") finish(e, id);
          else if (n.state === "running") {
            moveTo(e, id);
            e.fraction = ratio(n.value, n.max) ?? e.fraction;
          }
        }
        return;
      case "executed":
        finish(e, str(d.node));
        return;
      case "execution_success":
        e.ended = { kind: "success" };
        return;
      case "execution_interrupted":
        e.ended = { kind: "interrupted" };
        return;
      case "execution_error": {
        const code = str(d.exception_type) ?? "execution_error";
        const text = (str(d.exception_message) ?? "no reason given").trim();
        const where = str(d.node_type) ? ` in node ${str(d.node_id) ?? "?"} (${str(d.node_type)})` : "";
        e.ended = { kind: "error", code, message: `${text}${where}`, class: classifyException(code, text) };
        return;
      }
    }
  }

  return {
    track(promptId) {
      const e = entries.get(promptId);
      if (e) {
        e.tracked = true;
        e.lastSeen = o.now();
      } else {
        entries.set(promptId, fresh(true));
        prune();
      }
    },
    apply(message) {
      const m = obj(message);
      const type = str(m.type);
      const d = obj(m.data);
      const id = str(d.prompt_id);
      // `status` and a reconnect's bare `executing {node}` name no prompt: nothing to keep.
      if (type === null || id === null) return null;
      const e = entryFor(id);
      step(e, type, d);
      recompute(e);
      const ending = ENDING.has(type) || (type === "executing" && d.node === null);
      return ending && e.tracked ? id : null;
    },
    view(promptId) {
      const e = entries.get(promptId);
      if (!e) return null;
      e.lastSeen = o.now();
      return { started: e.started, progress: e.progress, ended: e.ended };
    },
    reconnected() {
      for (const e of entries.values()) e.started = false;
    },
    forget(promptId) {
      entries.delete(promptId);
    },
    waiting() {
      let n = 0;
      for (const e of entries.values()) if (e.tracked && e.ended === null) n++;
      return n;
    },
    get size() {
      return entries.size;
    },
  };
}
