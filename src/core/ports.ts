/**
 * Ports: the interfaces core/ needs from the outside world. Adapters implement them; main/ wires them.
 */

/** An open transaction. Opaque to core: only the adapters of one database know what is inside. */
export interface Tx {
  readonly __brand: "Tx";
}

export interface Database {
  /** Runs `fn` in one transaction: everything it writes commits together or not at all. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Cheap check that the database answers (for readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** What the engine reports for monitoring (Prometheus in production, nothing in unit tests). */
/** The metrics the HTTP layer feeds and serves: request observations in, the exposition text out. */
export interface HttpMetrics {
  /** Records one answered HTTP request; `route` is the pattern (`/v1/videos/:id`), not the URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
  /** What `GET /metrics` serves: every metric as text, and that text's content type. */
  readonly registry: { metrics(): Promise<string>; readonly contentType: string };
}

export interface Telemetry {
  /** A provider call ended after `seconds`: `outcome` is "ok" or the error code. */
  providerCall(e: { provider: string; seconds: number; outcome: string }): void;
  /** One poll of an upstream task ended: `outcome` is "ok" or the error code. */
  upstreamPoll?(e: { channel: string; seconds: number; outcome: string }): void;
  /** An upstream reported a status (`known: false` for one Reelay does not recognise). */
  upstreamStatus?(e: { channel: string; status: string; known: boolean }): void;
  /** A provider's callback about a task on `channel` passed its checks. */
  upstreamCallback?(e: { channel: string }): void;
  /** A task accepted by `channel` failed there with `class` and was sent to another channel. */
  upstreamFailover?(e: { channel: string; class: string }): void;
}

export interface Clock {
  now(): number;
}

export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
