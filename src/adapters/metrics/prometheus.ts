/**
 * Prometheus metrics (prom-client), one registry per process container: request latency by route
 * and status, tasks by status, queue depth, provider latency and errors, process defaults.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { JobQueue } from "../../core/jobs/ports.js";
import type { Clock, Telemetry } from "../../core/ports.js";
import type { TaskStore } from "../../core/tasks/ports.js";

export interface Prometheus {
  readonly registry: Registry;
  readonly telemetry: Telemetry;
  /** Records one answered HTTP request; `route` is the pattern (`/v1/videos/:id`), not the URL. */
  observeRequest(method: string, route: string, status: number, seconds: number): void;
}

export function createPrometheus(deps: { tasks: TaskStore; queue: JobQueue; clock: Clock }): Prometheus {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "reelay_" });

  const http = new Histogram({
    name: "reelay_http_request_duration_seconds",
    help: "HTTP request latency by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  const provider = new Histogram({
    name: "reelay_provider_call_seconds",
    help: "Provider calls (renders, upstream tasks) by provider and outcome",
    labelNames: ["provider", "outcome"] as const,
    buckets: [0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 640],
    registers: [registry],
  });
  const providerErrors = new Counter({
    name: "reelay_provider_errors_total",
    help: "Provider calls that failed, by provider and error code",
    labelNames: ["provider", "code"] as const,
    registers: [registry],
  });
  const polls = new Histogram({
    name: "reelay_upstream_poll_seconds",
    help: "Polls of upstream tasks by channel and outcome (ok or the error code)",
    labelNames: ["channel", "outcome"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const failovers = new Counter({
    name: "reelay_upstream_failovers_total",
    help: "Tasks an upstream accepted, then failed, sent to another channel: by the channel they failed on and the error class",
    labelNames: ["channel", "class"] as const,
    registers: [registry],
  });
  const statuses = new Counter({
    name: "reelay_upstream_unknown_status_total",
    help: "Upstream statuses Reelay does not recognise (treated as still running), by channel and status",
    labelNames: ["channel", "status"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "reelay_tasks",
    help: "Tasks by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const counts = await deps.tasks.countByStatus();
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: "reelay_queue_jobs",
    help: "Jobs in the queue by state (queued, running, dead)",
    labelNames: ["state"] as const,
    registers: [registry],
    async collect() {
      const d = await deps.queue.depth(deps.clock.now());
      this.set({ state: "queued" }, d.queued);
      this.set({ state: "running" }, d.running);
      this.set({ state: "dead" }, d.dead);
    },
  });

  // Bounded: methods, route patterns (or "unmatched") and statuses are each few.
  const httpSeries = new Map<string, (seconds: number) => void>();
  return {
    registry,
    telemetry: {
      providerCall({ provider: name, seconds, outcome }) {
        provider.observe({ provider: name, outcome }, seconds);
        if (outcome !== "ok") providerErrors.inc({ provider: name, code: outcome });
      },
      upstreamPoll({ channel, seconds, outcome }) {
        polls.observe({ channel, outcome }, seconds);
      },
      upstreamStatus({ channel, status, known }) {
        // Label values stay bounded: an upstream inventing statuses gets them folded past 40 characters.
        if (!known) statuses.inc({ channel, status: status.slice(0, 40) });
      },
      upstreamFailover({ channel, class: cls }) {
        failovers.inc({ channel, class: cls });
      },
    },
    observeRequest(method, route, status, seconds) {
      // Every request lands here: its labelled series is looked up once, not hashed each time.
      const series = `${method} ${route} ${status}`;
      let observe = httpSeries.get(series);
      if (observe === undefined) {
        const child = http.labels({ method, route, status: String(status) });
        observe = (s: number) => child.observe(s);
        httpSeries.set(series, observe);
      }
      observe(seconds);
    },
  };
}
