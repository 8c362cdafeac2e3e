/**
 * A webhook receiver on 127.0.0.1 for tests: it verifies every request's signature with the
 * `standardwebhooks` library (the secret per path is set by the test), answers with the statuses
 * scripted per path (200 once the script is spent), and de-duplicates on `webhook-id` the way a
 * receiver should: an event counts as processed the first time it is answered 2xx.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedHook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The signature checked out with the path's secret. */
  readonly verified: boolean;
  /** What the receiver answered. */
  readonly status: number;
}

export interface WebhookReceiver {
  readonly url: string;
  /** `127.0.0.1:<port>`, for REELAY_ALLOW_HOSTS. */
  readonly host: string;
  readonly received: ReceivedHook[];
  /** Events processed once each (first 2xx answer per webhook-id), with their parsed bodies. */
  readonly processed: Map<string, { path: string; body: { type: string; data: Record<string, unknown> } }>;
  /** The secret that signs requests to `path`. */
  secretFor(path: string, secret: string): void;
  /** The statuses to answer on `path`, in order; 200 after the last one (or always, with `repeat`). */
  script(path: string, statuses: number[], opts?: { repeat?: boolean }): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const secrets = new Map<string, string>();
  const scripts = new Map<string, { statuses: number[]; repeat: boolean }>();
  const received: ReceivedHook[] = [];
  const processed: WebhookReceiver["processed"] = new Map();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const body = Buffer.concat(chunks).toString("utf8");
      const secret = secrets.get(path);
      let verified = false;
      if (secret) {
        try {
          new Webhook(secret).verify(body, req.headers as Record<string, string>);
          verified = true;
        } catch {
          verified = false;
        }
      }
      const script = scripts.get(path);
      const status = !verified ? 401 : script && script.statuses.length > 0 ? nextStatus(script) : 200;
      received.push({ path, headers: req.headers, body, verified, status });
      const id = String(req.headers["webhook-id"]);
      if (status >= 200 && status < 300 && !processed.has(id)) {
        processed.set(id, { path, body: JSON.parse(body) });
      }
      res.writeHead(status, { "content-type": "text/plain" }).end(status < 300 ? "ok" : "nope");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    received,
    processed,
    secretFor: (path, secret) => secrets.set(path, secret),
    script: (path, statuses, opts = {}) =>
      scripts.set(path, { statuses: [...statuses], repeat: !!opts.repeat }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function nextStatus(script: { statuses: number[]; repeat: boolean }): number {
  const first = script.statuses[0] ?? 200;
  if (!script.repeat) script.statuses.shift();
  return first;
}
