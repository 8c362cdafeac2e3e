/**
 * Reading and awaiting a task through the unified query, on any running Reelay: an in-process
 * test app or a spawned server (both have a `url`).
 */
import { type WaitOptions, waitFor } from "./wait.js";

export type Task = Record<string, unknown>;

/** The statuses a task ends in. */
export const TERMINAL = ["completed", "failed", "cancelled"] as const;

export interface TaskWait {
  /** Stop once the task has one of these statuses (default: any terminal one). */
  readonly statuses?: readonly string[];
  /** Stop once this holds instead (e.g. processing with some progress). */
  readonly until?: (task: Task) => boolean;
  /** Default 120 s. */
  readonly timeoutMs?: number;
  /** Default 200 ms. */
  readonly intervalMs?: number;
  readonly detail?: WaitOptions["detail"];
}

/** GET /v1/video/query for `id` with `key`; throws unless it answers 200. */
export async function queryTask(server: { readonly url: string }, key: string, id: string): Promise<Task> {
  const res = await fetch(`${server.url}/v1/video/query?id=${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  const body = (await res.json()) as Task;
  if (res.status !== 200) throw new Error(`query ${id} → ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** Polls the unified query until the task reaches one of `statuses` (or `until` holds); bounded. */
export function waitForTask(
  server: { readonly url: string },
  key: string,
  id: string,
  opts: TaskWait = {},
): Promise<Task> {
  const { statuses = TERMINAL, until, timeoutMs = 120_000, intervalMs = 200 } = opts;
  return waitFor(() => queryTask(server, key, id), until ?? ((t) => statuses.includes(String(t.status))), {
    what: `task ${id} ${until ? "to reach the awaited state" : `to be ${statuses.join(" or ")}`}`,
    timeoutMs,
    intervalMs,
    ...(opts.detail ? { detail: opts.detail } : {}),
  });
}
